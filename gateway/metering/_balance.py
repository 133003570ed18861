"""The balance view: what a caller may still spend, and where its money sits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from gateway.identity import Principal
from gateway.ledger import Principal as Payer
from gateway.metering._guard import LedgerSpendGuard

__all__ = ["WalletLookup", "balance_view"]

# Wallets and agent authorities of an identity, as the chains report them:
# {"wallets": [{"chain", "address", "usdc_micro_usd"}], "agents": [{…authority…}]}
WalletLookup = Callable[[str], Awaitable[dict[str, list[dict[str, Any]]]]]


async def balance_view(
    guard: LedgerSpendGuard,
    principal: Principal,
    identity: str | None,
    wallets: WalletLookup | None,
) -> dict[str, Any]:
    """``GET /v1/balance`` of ``identity`` (the caller's own, with its token's limits)."""
    own = identity in (None, principal.identity)
    payer = await guard.payer(principal) if own else Payer(str(identity))
    balance = await guard.ledger.balance(payer)
    authority = balance.authority
    chain = await wallets(payer.identity) if wallets is not None else {}
    return {
        "identity": balance.identity,
        "spent_micro_usd": balance.spent,
        "reserved_micro_usd": balance.reserved,
        "settled_micro_usd": balance.settled,
        "remaining_micro_usd": balance.remaining,
        "limited_by": balance.limited_by,
        "requests": balance.requests,
        "expires_at": balance.expires_at,
        "budget": asdict(balance.budget) if balance.budget is not None else None,
        "authority": asdict(authority) if authority is not None else None,
        "agents": chain.get("agents", []),
        "wallets": chain.get("wallets", []),
    }
