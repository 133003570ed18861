"""Price quotes kept in the ledger's database, so that every process sharing it sees each quote
and redeems it at most once.

A quote is a row (``ledger_quotes``) from ``put`` until a day after it expires. ``take`` reads
the row with its lock (Postgres ``FOR UPDATE``; SQLite's writers hold the database's write
lock) and marks it used in the same transaction: of two processes taking one quote at once,
the second waits for the first to commit and then finds it used. The quote itself is an opaque
blob: the ledger never reads it.
"""

from __future__ import annotations

from gateway.ledger._sqltx import SqlTx
from gateway.ledger._types import KEEP_AFTER_EXPIRY_MS, QuoteOutcome, StoredQuote

__all__ = ["put_quote", "take_quote"]


def put_quote(tx: SqlTx, quote: StoredQuote) -> None:
    """Store a new quote, and drop those that expired over a day before it."""
    tx.run(
        "DELETE FROM ledger_quotes WHERE expires_ms < ?", quote.expires_ms - KEEP_AFTER_EXPIRY_MS
    )
    tx.run(
        "INSERT INTO ledger_quotes (id, identity, blob, expires_ms) VALUES (?, ?, ?, ?)",
        quote.id,
        quote.identity,
        quote.blob,
        quote.expires_ms,
    )


def take_quote(
    tx: SqlTx, quote_id: str, identity: str, now_ms: int
) -> tuple[QuoteOutcome, StoredQuote | None]:
    """Mark the quote used and return it, if it is ``identity``'s, unused and unexpired."""
    lock = " FOR UPDATE" if tx.postgres else ""
    row = tx.one(
        "SELECT identity, blob, expires_ms, used_ms FROM ledger_quotes WHERE id = ?" + lock,
        quote_id,
    )
    if row is None:
        return "unknown", None
    owner, blob, expires_ms, used_ms = row
    if owner != identity:
        return "other_identity", None
    if used_ms is not None:
        return "used", None
    if now_ms >= expires_ms:
        return "expired", None
    tx.run("UPDATE ledger_quotes SET used_ms = ? WHERE id = ?", now_ms, quote_id)
    return "ok", StoredQuote(quote_id, owner, bytes(blob), expires_ms / 1000)
