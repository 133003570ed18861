"""The spending ledger: every limit on spending, enforced with reserve → call → charge.

The rules are ``specs/spending.md`` (SPEND-1…). Amounts are integer µUSD, times unix seconds.

Opening (once, in the app's nursery scope)::

    async with open_ledger(settings.database_url, limits=settings.limits) as ledger:
        nursery.start_soon(ledger.run_recovery, 60)      # expired reservations, periodically

A call (model, tool or agent turn)::

    principal = Principal(
        identity=claims["iss"],                            # budgets and rate limits are per iss
        token_key=revocation_key,                          # jti:… or sha256:…
        limits=TokenLimits(claims.get("budget"), claims.get("budget_scope", "session"),
                           BudgetRange.from_claim(r) if (r := claims.get("budget_range")) else None,
                           claims.get("iat")),
        authority=agent_caip10_or_None,                    # the agent key's spending authority
        balance=known_wallet_balance_or_None,
    )
    room = await ledger.headroom(principal)                # room.amount None: no money limit
    # size max_tokens so that prompt cost + max_tokens × output price ≤ room.amount
    request = ReserveRequest(principal, amount=max_cost, kind="model", subject=model_id,
                             tokens=prompt_tokens + max_tokens, request_id=request_id)
    async with ledger.hold(request) as hold:               # SpendingError 402 / RateLimited 429
        ...forward; while streaming, hold.record(cost_so_far, usage_so_far)...
        charge = await hold.charge(actual_cost, CallUsage(provider, tokens, latency_ms, ttft_ms))
        ...only now report the call complete (charge.cost is what was charged)...

Leaving the ``hold`` block without charging releases the reservation (or charges what was
recorded), shielded from cancellation. ``reserve``/``charge``/``release`` are there for callers
that cannot use a block. Views: ``usage``, ``summary``, ``balance`` (scoped by identity; None is
every identity, for admins). Agents' authorities: ``set_authority``/``authority``. Settlement:
``unsettled``/``mark_settled``. The identity layer's revocation store: ``is_revoked``/``revoke``.
Price quotes shared by every process (redeemed at most once): ``put_quote``/``take_quote``.
Books: ``check`` (``bitrouter ledger check``), ``recover_expired``.
"""

from gateway.ledger._hold import Hold
from gateway.ledger._ledger import Ledger
from gateway.ledger._open import open_ledger
from gateway.ledger._rules import format_usd
from gateway.ledger._sqlite_open import enable_wal, setup_lock
from gateway.ledger._types import (
    AuthorityLimits,
    BudgetRange,
    CallUsage,
    Charge,
    Kind,
    Principal,
    QuoteOutcome,
    Reservation,
    ReserveRequest,
    StoredQuote,
    TokenLimits,
)
from gateway.ledger._views import (
    AuthorityStatus,
    Balance,
    BudgetStatus,
    CheckReport,
    GroupBy,
    Headroom,
    RecoveryReport,
    SummaryRow,
    UnsettledCharge,
    UsagePage,
    UsageRecord,
)

__all__ = [
    "AuthorityLimits",
    "AuthorityStatus",
    "Balance",
    "BudgetRange",
    "BudgetStatus",
    "CallUsage",
    "Charge",
    "CheckReport",
    "GroupBy",
    "Headroom",
    "Hold",
    "Kind",
    "Ledger",
    "Principal",
    "QuoteOutcome",
    "RecoveryReport",
    "Reservation",
    "ReserveRequest",
    "StoredQuote",
    "SummaryRow",
    "TokenLimits",
    "UnsettledCharge",
    "UsagePage",
    "UsageRecord",
    "enable_wal",
    "format_usd",
    "open_ledger",
    "setup_lock",
]
