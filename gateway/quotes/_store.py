"""Where quotes live until redeemed: put once, taken at most once, by their own identity.

A store keeps a tiny row per quote (id, identity, the quote as JSON, expiry, used flag); the
ledger implements the same interface over SQLite/Postgres for quotes shared by processes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, Protocol

__all__ = ["MemoryQuoteStore", "QuoteRecord", "QuoteStore", "TakeOutcome"]

TakeOutcome = Literal["ok", "unknown", "expired", "used", "other_identity"]


@dataclass(frozen=True, slots=True)
class QuoteRecord:
    """One stored quote."""

    id: str
    identity: str
    blob: bytes
    expires_at: float
    used: bool = False


class QuoteStore(Protocol):
    """Stores quotes; ``take`` is atomic, so a quote is redeemed at most once."""

    async def put(self, record: QuoteRecord) -> None:
        """Store a new quote."""
        ...

    async def take(
        self, quote_id: str, identity: str, now: float
    ) -> tuple[TakeOutcome, QuoteRecord | None]:
        """Mark the quote used and return it — only if it exists, belongs to ``identity``, is
        unused and unexpired at ``now``; otherwise say which of those failed (nothing changes)."""
        ...


class MemoryQuoteStore:
    """Quotes in a dict (one process; atomic because ``take`` never awaits)."""

    _PRUNE_AT = 10_000

    def __init__(self) -> None:
        self._records: dict[str, QuoteRecord] = {}

    async def put(self, record: QuoteRecord) -> None:
        """Store a new quote (expired and used ones are dropped when many have piled up)."""
        if len(self._records) >= self._PRUNE_AT:
            # No quote lives longer than a day, so one whose expiry is a day before this new
            # one's has surely expired.
            horizon = record.expires_at - 86_400
            for key in [k for k, r in self._records.items() if r.used or r.expires_at < horizon]:
                del self._records[key]
        self._records[record.id] = record

    async def take(
        self, quote_id: str, identity: str, now: float
    ) -> tuple[TakeOutcome, QuoteRecord | None]:
        """Single-use redemption."""
        record = self._records.get(quote_id)
        if record is None:
            return "unknown", None
        if record.identity != identity:
            return "other_identity", None
        if record.used:
            return "used", None
        if now >= record.expires_at:
            return "expired", None
        self._records[quote_id] = replace(record, used=True)
        return "ok", record
