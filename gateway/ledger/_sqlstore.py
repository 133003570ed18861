"""What the SQLite and Postgres stores share: every store operation in terms of one read and
one write transaction, which each backend runs on its own connections and threads."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from gateway.ledger import _sqlviews as views
from gateway.ledger._quotes import put_quote, take_quote
from gateway.ledger._sqltx import SqlTx
from gateway.ledger._store import CheckRows, UsageQuery
from gateway.ledger._types import QuoteOutcome, StoredQuote
from gateway.ledger._views import GroupBy, SummaryRow, UnsettledCharge, UsageRecord

__all__ = ["SqlStore"]

T = TypeVar("T")


class SqlStore:
    """The store operations over ``read`` and ``write``, which a backend provides."""

    name = "sql"

    async def write(self, script: Callable[[SqlTx], T], *, durable: bool = True) -> T:
        """Run ``script`` in one atomic write transaction."""
        raise NotImplementedError

    async def read(self, script: Callable[[SqlTx], T]) -> T:
        """Run ``script`` in a read-only transaction."""
        raise NotImplementedError

    async def read_point(self, script: Callable[[SqlTx], T]) -> T:
        """A read of a few rows by key (a backend may run it without a thread hop)."""
        return await self.read(script)

    async def expired(self, now_ms: int, limit: int) -> list[int]:
        """Ids of open entries whose deadline is before ``now_ms``."""
        return await self.read(lambda tx: views.expired(tx, now_ms, limit))

    async def next_deadline(self) -> int | None:
        """The earliest deadline of an open entry (unix ms), or None."""
        return await self.read(views.next_deadline)

    async def usage(self, query: UsageQuery, limit: int) -> list[UsageRecord]:
        """Finished entries matching ``query``, newest first."""
        return await self.read(lambda tx: views.usage(tx, query, limit))

    async def summary(self, query: UsageQuery, group_by: GroupBy) -> list[SummaryRow]:
        """Totals of finished entries matching ``query`` per group."""
        return await self.read(lambda tx: views.summary(tx, query, group_by))

    async def check_rows(self) -> CheckRows:
        """Every account, authority, entry (in id order) and window bucket."""
        return await self.read(views.check_rows)

    async def unsettled(self, authority: str | None, limit: int) -> list[UnsettledCharge]:
        """Charges under an authority not yet settled, oldest first."""
        return await self.read(lambda tx: views.unsettled(tx, authority, limit))

    async def mark_settled(self, ids: Sequence[int], tx_id: str, now_ms: int) -> int:
        """Mark these unsettled charges settled by ``tx_id``; the µUSD newly settled."""
        return await self.write(lambda tx: views.mark_settled(tx, ids, tx_id, now_ms))

    async def is_revoked(self, key: str) -> bool:
        """Whether ``key`` was revoked."""
        return await self.read_point(lambda tx: views.is_revoked(tx, key))

    async def revoke(self, key: str, issuer: str, reason: str, now_ms: int) -> None:
        """Record a revocation (idempotent)."""
        await self.write(lambda tx: views.revoke(tx, key, issuer, reason, now_ms))

    async def put_quote(self, quote: StoredQuote) -> None:
        """Keep a new quote until a day after it expires."""
        await self.write(lambda tx: put_quote(tx, quote), durable=False)

    async def take_quote(
        self, quote_id: str, identity: str, now_ms: int
    ) -> tuple[QuoteOutcome, StoredQuote | None]:
        """Mark a quote used and return it, if it is ``identity``'s, unused and unexpired."""
        return await self.write(lambda tx: take_quote(tx, quote_id, identity, now_ms))
