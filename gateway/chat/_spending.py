"""The spending interface of a chat call: how much may be spent, hold it, charge it.

The chat service reserves a call's maximum cost before forwarding it, then settles the actual
cost (never more than the hold) or cancels the hold. The ledger implements this over its
stores; :class:`MemorySpendGuard` is the in-memory double (unlimited unless given a budget).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Protocol

from gateway.chat._principal import ChatPrincipal
from gateway.core import TokenCounts
from gateway.errors import SpendingError

__all__ = ["Hold", "MemoryHold", "MemorySpendGuard", "SpendGuard", "UsageRecord"]


class Hold(Protocol):
    """A granted reservation."""

    @property
    def amount(self) -> int:
        """µUSD held."""
        ...


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """What one call used and cost, handed to the ledger when it is settled or cancelled.

    ``outcome``: ``ok``, ``length_cut`` (a stream cut off at its reservation), ``cancelled``
    (the client went away), ``upstream_error`` (a stream failed after its first byte) or
    ``failed`` (no provider answered). ``estimated`` marks token counts the gateway counted
    itself because the upstream reported none.
    """

    request_id: str
    identity: str
    model: str
    provider: str
    simulated: bool
    tokens: TokenCounts
    cost_micro_usd: int
    latency_ms: int | None
    ttft_ms: int | None
    outcome: str
    quote_id: str | None = None
    attempts: tuple[str, ...] = ()
    estimated: bool = False


class SpendGuard(Protocol):
    """Reserves before a call, settles after it."""

    async def headroom(self, principal: ChatPrincipal) -> int | None:
        """µUSD the principal may still reserve now (None: no limit applies)."""
        ...

    async def reserve(
        self,
        principal: ChatPrincipal,
        *,
        kind: str,
        subject: str,
        amount: int,
        tokens: int,
        request_id: str,
    ) -> Hold:
        """Hold ``amount`` against every limit; raises SpendingError if any refuses."""
        ...

    async def settle(self, hold: Hold, cost: int, usage: UsageRecord) -> None:
        """Charge ``cost`` (≤ the hold) and release the rest."""
        ...

    async def cancel(self, hold: Hold, usage: UsageRecord | None) -> None:
        """Release the whole hold: nothing is charged."""
        ...


@dataclass(frozen=True, slots=True)
class MemoryHold:
    """A hold of the in-memory guard."""

    id: int
    identity: str
    amount: int


@dataclass
class MemorySpendGuard:
    """An in-memory guard: unlimited, or one budget shared by every identity (tests, demos).

    It keeps every usage record it was handed, so tests can read what was charged.
    """

    budget: int | None = None
    spent: int = 0
    held: int = 0
    records: list[UsageRecord] = field(default_factory=list)
    open_holds: dict[int, MemoryHold] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=itertools.count, repr=False)

    async def headroom(self, principal: ChatPrincipal) -> int | None:
        """What is left of the budget (None when unlimited)."""
        return None if self.budget is None else max(0, self.budget - self.spent - self.held)

    async def reserve(
        self,
        principal: ChatPrincipal,
        *,
        kind: str,
        subject: str,
        amount: int,
        tokens: int,
        request_id: str,
    ) -> MemoryHold:
        """Hold ``amount`` unless it would pass the budget."""
        left = await self.headroom(principal)
        if left is not None and amount > left:
            raise SpendingError(
                f"the call may cost up to {amount} µUSD but only {left} µUSD of the budget is left"
            )
        hold = MemoryHold(next(self._ids), principal.identity, amount)
        self.open_holds[hold.id] = hold
        self.held += amount
        return hold

    def _close(self, hold: Hold) -> None:
        assert isinstance(hold, MemoryHold)
        if self.open_holds.pop(hold.id, None) is None:
            raise ValueError(f"hold {hold.id} is not open")
        self.held -= hold.amount

    async def settle(self, hold: Hold, cost: int, usage: UsageRecord) -> None:
        """Charge ``cost``, clamped to the hold."""
        self._close(hold)
        self.spent += min(cost, hold.amount)
        self.records.append(usage)

    async def cancel(self, hold: Hold, usage: UsageRecord | None) -> None:
        """Release the hold."""
        self._close(hold)
        if usage is not None:
            self.records.append(usage)
