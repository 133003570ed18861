"""An in-memory :class:`SpendGuard` with one settable cap per identity (tests, demos).

It keeps the rule the real ledger keeps: held plus spent never passes the cap, so concurrent
calls cannot overshoot it, and a charge never exceeds its hold. The MCP and ACP faces take it
in tests; model and tool calls of a test gateway can share one instance with the ACP face, so
that a caller's whole spending is visible in one ``usage`` list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.errors import SpendingError
from gateway.identity import Principal

__all__ = ["MemoryHold", "MemorySpendGuard"]


@dataclass(frozen=True)
class MemoryHold:
    """One open reservation."""

    identity: str
    kind: str
    subject: str
    amount: int
    request_id: str


@dataclass
class MemorySpendGuard:
    """Caps, holds and a usage list in memory; ``cap`` (µUSD) applies to every identity."""

    cap: int | None = None
    spent: dict[str, int] = field(default_factory=dict)
    held: dict[str, int] = field(default_factory=dict)
    usage: list[dict[str, Any]] = field(default_factory=list)
    released: list[MemoryHold] = field(default_factory=list)

    async def reserve(
        self,
        principal: Principal,
        *,
        kind: str,
        subject: str,
        amount: int,
        tokens: int,
        request_id: str,
    ) -> MemoryHold:
        """Hold ``amount`` or raise SpendingError if the cap would be passed."""
        who = principal.identity
        committed = self.spent.get(who, 0) + self.held.get(who, 0)
        if self.cap is not None and committed + amount > self.cap:
            remaining = max(0, self.cap - committed)
            raise SpendingError(
                f"spending cap reached: {subject} needs up to {amount} µUSD and "
                f"{remaining} µUSD of the {self.cap} µUSD cap remain",
                code="spending_cap_exceeded",
            )
        self.held[who] = self.held.get(who, 0) + amount
        return MemoryHold(who, kind, subject, amount, request_id)

    async def settle(self, hold: MemoryHold, cost: int, usage: dict[str, Any]) -> None:
        """Charge ``cost`` (at most the hold) and record the usage line."""
        charged = min(cost, hold.amount)
        self.held[hold.identity] -= hold.amount
        self.spent[hold.identity] = self.spent.get(hold.identity, 0) + charged
        self.usage.append(
            {
                **usage,
                "identity": hold.identity,
                "kind": hold.kind,
                "subject": hold.subject,
                "request_id": hold.request_id,
                "cost_micro_usd": charged,
            }
        )

    async def cancel(self, hold: MemoryHold, usage: dict[str, Any] | None) -> None:
        """Release the hold without charging."""
        self.held[hold.identity] -= hold.amount
        self.released.append(hold)

    def open_holds(self, identity: str) -> int:
        """µUSD still held for ``identity`` (0 once every reservation is settled or released)."""
        return self.held.get(identity, 0)
