"""``LedgerQuoteStore``: the quote service's store over the ledger's database.

With it, every gateway process sharing the ledger (SQLite in the home, or Postgres) sees every
quote, and a quote is redeemed at most once whichever process redeems it (SPEND-21).
"""

from __future__ import annotations

from gateway.ledger import Ledger, StoredQuote
from gateway.quotes import QuoteRecord, TakeOutcome

__all__ = ["LedgerQuoteStore"]


class LedgerQuoteStore:
    """A ``QuoteStore`` kept in the ledger (``build_chat_service(quote_store=…)``)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    async def put(self, record: QuoteRecord) -> None:
        """Store a new quote."""
        await self.ledger.put_quote(
            StoredQuote(record.id, record.identity, record.blob, record.expires_at)
        )

    async def take(
        self, quote_id: str, identity: str, now: float
    ) -> tuple[TakeOutcome, QuoteRecord | None]:
        """Mark the quote used and return it, atomically across processes."""
        outcome, stored = await self.ledger.take_quote(quote_id, identity, now)
        if stored is None:
            return outcome, None
        return outcome, QuoteRecord(stored.id, stored.identity, stored.blob, stored.expires_at)
