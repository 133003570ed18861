"""The spending rules as pure functions: which limits apply, whether a reservation fits, how much
would fit, and the per-identity rate limits. No I/O: every store feeds them the same rows.

Rate limits are GCRA (a token bucket kept as one number, the theoretical arrival time): a full
minute's allowance may be used in a burst, and it refills evenly over the minute.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from gateway.errors import RateLimited, SpendingError
from gateway.ledger._store import AccountRow, AuthorityRow
from gateway.ledger._types import Principal, TokenLimits
from gateway.settings._schema import LimitsSettings

__all__ = [
    "BUCKETS",
    "Grant",
    "Policy",
    "Window",
    "bucket_start",
    "budget_window",
    "decide",
    "format_usd",
    "headroom",
    "window_split",
]

_MINUTE = 60.0
# Running totals of what an identity's entries hold, per minute (level 1) and per hour (level 2),
# so that a time window is summed from at most one minute of entries, 59 minute totals and its
# hour totals, however many entries it spans.
BUCKETS = ((1, 60_000), (2, 3_600_000))


def bucket_start(t_ms: int, size_ms: int) -> int:
    """The start of the bucket of ``size_ms`` that holds the time ``t_ms``."""
    return t_ms - t_ms % size_ms


def window_split(since_ms: int) -> tuple[int, int]:
    """Where a window from ``since_ms`` switches from entries to minute totals, and from
    minute totals to hour totals (the next minute and hour boundaries)."""
    (_, minute), (_, hour) = BUCKETS
    return -(-since_ms // minute) * minute, -(-since_ms // hour) * hour


def format_usd(micro: int) -> str:
    """µUSD as ``1.234567 USD`` (exact, no float)."""
    sign = "-" if micro < 0 else ""
    whole, frac = divmod(abs(micro), 1_000_000)
    return f"{sign}{whole}.{frac:06d} USD"


@dataclass(frozen=True, slots=True)
class Policy:
    """The operator's limits, from ``LimitsSettings``."""

    ttl_ms: int
    requests_per_minute: int | None
    tokens_per_minute: int | None

    @classmethod
    def from_settings(cls, limits: LimitsSettings) -> Policy:
        """The policy of a settings section."""
        return cls(
            ttl_ms=limits.reservation_ttl_seconds * 1000,
            requests_per_minute=limits.requests_per_minute,
            tokens_per_minute=limits.tokens_per_minute,
        )

    def token_interval(self) -> float:
        """Seconds of bucket one token costs (0 when tokens are not limited)."""
        return _MINUTE / self.tokens_per_minute if self.tokens_per_minute else 0.0


@dataclass(frozen=True, slots=True)
class Window:
    """Which of an identity's entries count against a budget: those at or after ``since_ms``
    (all when None), and of them only the ``last`` newest (all when None)."""

    since_ms: int | None
    last: int | None

    @property
    def is_everything(self) -> bool:
        """True when the window is the identity's whole history (the running totals suffice)."""
        return self.since_ms is None and self.last is None


@dataclass(frozen=True, slots=True)
class Grant:
    """A reservation that fits: its time and the identity's new rate state."""

    t_ms: int
    rq_tat: float
    tk_tat: float


def budget_window(limits: TokenLimits, now_ms: int) -> Window | None:
    """The window of the token's budget as seen by a call at ``now_ms`` (None: no budget).

    ``session`` counts from the token's ``iat`` (a token without ``iat`` counts everything);
    ``duration:S`` keeps entries newer than S seconds; ``rounds:N`` keeps the N-1 newest earlier
    requests, so that with this call the window is N requests.
    """
    if limits.budget is None:
        return None
    since: int | None = None
    if limits.budget_scope == "session" and limits.iat is not None:
        since = limits.iat * 1000
    last: int | None = None
    window = limits.budget_range
    if window is not None and window.kind == "duration":
        start = now_ms - window.count * 1000 + 1
        since = start if since is None else max(since, start)
    elif window is not None:
        last = window.count - 1
    return Window(since, last)


def _authority_refusal(
    principal: Principal, row: AuthorityRow | None, amount: int, now_ms: int
) -> SpendingError | None:
    agent = principal.authority
    if row is None:
        return SpendingError(
            f"no spending authority is on record for agent {agent}", code="spending_cap_exceeded"
        )
    limits = row.limits
    if limits.revoked:
        return SpendingError(
            f"the spending authority of agent {agent} is revoked", code="authority_revoked"
        )
    if limits.expires_at is not None and now_ms >= limits.expires_at * 1000:
        when = datetime.fromtimestamp(limits.expires_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return SpendingError(
            f"the spending authority of agent {agent} expired at {when}", code="authority_expired"
        )
    if limits.per_tx_cap is not None and amount > limits.per_tx_cap:
        return SpendingError(
            f"the call may cost up to {format_usd(amount)}, over the agent's per-transaction cap "
            f"of {format_usd(limits.per_tx_cap)}",
            code="spending_cap_exceeded",
        )
    if limits.cumulative_cap is not None:
        left = limits.cumulative_cap - row.spent - row.reserved
        if amount > left:
            return SpendingError(
                f"the agent's cumulative cap of {format_usd(limits.cumulative_cap)} has "
                f"{format_usd(max(0, left))} left; the call may cost up to {format_usd(amount)}",
                code="spending_cap_exceeded",
            )
    return None


def _unsettled(account: AccountRow, authority: AuthorityRow | None) -> int:
    if authority is not None:
        return authority.spent - authority.settled + authority.reserved
    return account.spent - account.settled + account.reserved


def _describe_budget(limits: TokenLimits) -> str:
    if limits.budget_range is None:
        return limits.budget_scope
    return f"{limits.budget_scope}, {limits.budget_range}"


def _gcra(tat: float, now: float, interval: float, cost: float) -> tuple[float, float]:
    """The new arrival time, and how long to wait (0: allowed now)."""
    new_tat = max(tat, now) + cost * interval
    return new_tat, max(0.0, new_tat - _MINUTE - now)


def _rate(account: AccountRow, policy: Policy, tokens: int, now_ms: int) -> tuple[float, float]:
    now = now_ms / 1000
    rq_tat, tk_tat = account.rq_tat, account.tk_tat
    if policy.requests_per_minute is not None:
        rq_tat, wait = _gcra(rq_tat, now, _MINUTE / policy.requests_per_minute, 1)
        if wait > 0:
            raise RateLimited(
                f"rate limit of {policy.requests_per_minute} requests per minute reached; "
                f"retry in {math.ceil(wait)} s",
                retry_after=math.ceil(wait),
            )
    if policy.tokens_per_minute is not None and tokens > 0:
        # A call larger than a whole minute's allowance waits for a full bucket, then passes.
        cost = min(tokens, policy.tokens_per_minute)
        tk_tat, wait = _gcra(tk_tat, now, policy.token_interval(), cost)
        if wait > 0:
            raise RateLimited(
                f"rate limit of {policy.tokens_per_minute} tokens per minute reached; "
                f"retry in {math.ceil(wait)} s",
                retry_after=math.ceil(wait),
            )
    return rq_tat, tk_tat


def decide(
    principal: Principal,
    amount: int,
    tokens: int,
    account: AccountRow,
    authority: AuthorityRow | None,
    window_used: int,
    policy: Policy,
    now_ms: int,
) -> Grant:
    """Grant a reservation of ``amount`` or raise the refusal of the first limit it breaks.

    Raises:
        SpendingError: 402, a money limit or the authority's state refuses the call.
        RateLimited: 429, the identity's request or token rate is used up for now.
    """
    if principal.authority is not None:
        refusal = _authority_refusal(principal, authority, amount, now_ms)
        if refusal is not None:
            raise refusal
    if principal.balance is not None:
        left = principal.balance - _unsettled(account, authority)
        if amount > left:
            raise SpendingError(
                f"the wallet balance of {format_usd(principal.balance)} has "
                f"{format_usd(max(0, left))} left after unsettled charges; the call may cost up "
                f"to {format_usd(amount)}",
                code="insufficient_balance",
            )
    budget = principal.limits.budget
    if budget is not None and window_used + amount > budget:
        raise SpendingError(
            f"the token's budget of {format_usd(budget)} ({_describe_budget(principal.limits)}) "
            f"has {format_usd(max(0, budget - window_used))} left; the call may cost up to "
            f"{format_usd(amount)}",
            code="budget_exhausted",
        )
    rq_tat, tk_tat = _rate(account, policy, tokens, now_ms)
    # Entry times never go backwards per identity, so windows stay consistent even when the
    # processes sharing a database disagree slightly about the time.
    return Grant(t_ms=max(now_ms, account.last_t_ms), rq_tat=rq_tat, tk_tat=tk_tat)


def headroom(
    principal: Principal,
    account: AccountRow,
    authority: AuthorityRow | None,
    window_used: int,
    now_ms: int,
) -> tuple[int | None, str | None]:
    """The largest amount a reservation could have now (None: unlimited), and the binding limit."""
    candidates: list[tuple[int, str]] = []
    if principal.authority is not None:
        refusal = _authority_refusal(principal, authority, 0, now_ms)
        if refusal is not None:
            return 0, refusal.code
        assert authority is not None  # no refusal means the row exists
        limits = authority.limits
        if limits.per_tx_cap is not None:
            candidates.append((limits.per_tx_cap, "per_tx_cap"))
        if limits.cumulative_cap is not None:
            left = limits.cumulative_cap - authority.spent - authority.reserved
            candidates.append((left, "cumulative_cap"))
    if principal.balance is not None:
        candidates.append((principal.balance - _unsettled(account, authority), "balance"))
    if principal.limits.budget is not None:
        candidates.append((principal.limits.budget - window_used, "budget"))
    if not candidates:
        return None, None
    amount, name = min(candidates)
    return max(0, amount), name
