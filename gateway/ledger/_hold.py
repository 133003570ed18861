"""A reservation that is always finished: the handle ``Ledger.hold`` yields to its body."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.ledger._types import CallUsage, Charge, Reservation

if TYPE_CHECKING:
    from gateway.ledger._ledger import Ledger

__all__ = ["Hold"]


class Hold:
    """A granted reservation inside ``async with ledger.hold(request) as hold``."""

    def __init__(self, ledger: Ledger, reservation: Reservation) -> None:
        self._ledger = ledger
        self.reservation = reservation
        self.result: Charge | None = None
        self._pending: tuple[int, CallUsage] | None = None

    def record(self, cost: int, usage: CallUsage) -> None:
        """Remember what the call has used so far; the exit charges it unless charged before.

        A stream calls this as it goes, so that a cut connection is charged what it used.
        """
        self._pending = (cost, usage)

    async def charge(self, cost: int, usage: CallUsage) -> Charge:
        """Charge now (durable on return): do this before reporting the call complete."""
        self.result = await self._ledger.charge(self.reservation, cost, usage)
        return self.result

    async def release(self, usage: CallUsage | None = None) -> Charge:
        """Release now: the call was not made, or failed without cost."""
        self.result = await self._ledger.release(self.reservation, usage)
        return self.result

    async def finish_pending(self) -> Charge:
        """Charge what was recorded, or release when nothing was."""
        if self._pending is not None:
            return await self.charge(*self._pending)
        return await self.release()
