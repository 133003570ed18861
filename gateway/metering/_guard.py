"""``LedgerSpendGuard``: reserve → call → charge for model calls, tool calls and agent turns.

The chat service, the MCP face and the ACP face each speak a small ``SpendGuard`` protocol;
this adapter maps all of them onto the ledger, building the ledger's view of the caller (its
identity, its token's budget, and the agent authority that pays, if any) from the verified
token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from gateway.chat import UsageRecord
from gateway.core import TokenCounts
from gateway.identity import Principal
from gateway.ledger import (
    BudgetRange,
    CallUsage,
    Ledger,
    Reservation,
    ReserveRequest,
    TokenLimits,
)
from gateway.ledger import Principal as Payer

__all__ = ["AuthorityLookup", "LedgerSpendGuard", "ledger_principal"]

# The CAIP-10 of the agent authority paying for a principal's calls (None: no authority).
AuthorityLookup = Callable[[Principal], Awaitable[str | None]]


async def _no_authority(principal: Principal) -> str | None:
    return None


def ledger_principal(principal: Principal, authority: str | None) -> Payer:
    """The ledger's view of a verified caller."""
    claims = principal.claims
    window = claims.budget_range
    limits = TokenLimits(
        budget=claims.budget,
        budget_scope=claims.budget_scope or "session",
        budget_range=BudgetRange.from_claim(window.model_dump()) if window is not None else None,
        iat=claims.iat,
    )
    return Payer(principal.identity, principal.revocation_key, limits, authority)


def _usage(usage: UsageRecord | Mapping[str, Any] | None) -> CallUsage | None:
    if usage is None:
        return None
    if isinstance(usage, UsageRecord):
        return CallUsage(
            usage.provider, usage.tokens, usage.latency_ms, usage.ttft_ms, usage.outcome
        )
    duration = usage.get("duration_ms")
    return CallUsage(
        provider=str(usage.get("server") or usage.get("agent") or ""),
        tokens=TokenCounts(),
        latency_ms=int(duration) if isinstance(duration, int | float) else None,
        outcome=str(usage.get("outcome") or "ok"),
    )


class LedgerSpendGuard:
    """The spending guard of one gateway process (chat, MCP and ACP faces share it)."""

    def __init__(self, ledger: Ledger, authority_of: AuthorityLookup | None = None) -> None:
        self.ledger = ledger
        self._authority_of = authority_of or _no_authority

    async def payer(self, principal: Principal) -> Payer:
        """The ledger principal (with its paying authority) of a verified caller."""
        return ledger_principal(principal, await self._authority_of(principal))

    async def headroom(self, principal: Principal) -> int | None:
        """µUSD the caller may still reserve now (None: no money limit)."""
        room = await self.ledger.headroom(await self.payer(principal))
        return room.amount

    async def reserve(
        self,
        principal: Principal,
        *,
        kind: str,
        subject: str,
        amount: int,
        tokens: int,
        request_id: str,
    ) -> Reservation:
        """Hold ``amount`` against every limit (SpendingError 402 / RateLimited 429)."""
        request = ReserveRequest(
            await self.payer(principal),
            amount=amount,
            kind=kind,  # type: ignore[arg-type]
            subject=subject,
            tokens=tokens,
            request_id=request_id,
        )
        return await self.ledger.reserve(request)

    async def settle(
        self, hold: Reservation, cost: int, usage: UsageRecord | Mapping[str, Any]
    ) -> None:
        """Charge ``cost`` (clamped to the hold), durably, and release the rest."""
        await self.ledger.charge(hold, cost, _usage(usage) or CallUsage())

    async def cancel(
        self, hold: Reservation, usage: UsageRecord | Mapping[str, Any] | None
    ) -> None:
        """Release the hold: nothing is charged."""
        await self.ledger.release(hold, _usage(usage))
