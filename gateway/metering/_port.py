"""The spending guard as the MCP and ACP faces use it: a Protocol they are given an instance of
(the ledger's :class:`LedgerSpendGuard` in the gateway, :class:`MemorySpendGuard` in tests)."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from gateway.identity import Principal

__all__ = ["HoldT", "SpendGuard"]

HoldT = TypeVar("HoldT")


class SpendGuard(Protocol[HoldT]):
    """Reserve before a paid call or turn, then charge its cost or release it (µUSD)."""

    async def reserve(
        self,
        principal: Principal,
        *,
        kind: str,
        subject: str,
        amount: int,
        tokens: int,
        request_id: str,
    ) -> HoldT:
        """Hold ``amount`` against every limit of the caller.

        Raises:
            SpendingError: a limit refuses it (402); nothing was held.
        """
        ...

    async def settle(self, hold: HoldT, cost: int, usage: dict[str, Any]) -> None:
        """Charge ``cost`` (at most the held amount), release the rest, record ``usage``."""
        ...

    async def cancel(self, hold: HoldT, usage: dict[str, Any] | None) -> None:
        """Release the hold without charging (the call or turn did not complete)."""
        ...
