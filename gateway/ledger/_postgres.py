"""The shared ledger: PostgreSQL, used by several gateway processes at once.

Each write is one transaction on a pooled connection in a worker thread, in two round trips (the
reads, then the writes with the ``COMMIT``). A reservation locks the identity's account row and
the authority's row with ``SELECT … FOR UPDATE`` before it reads anything else, so the limits it
checks cannot change until it commits; an identity's window totals change only under its
account lock; every write takes its locks in one order (entry, account, authority), and a
deadlock the server still reports is retried. Reservations commit with ``synchronous_commit =
off``: the server's log is sequential, so once the charge that follows is durable, so is its
reservation.

A URL's libpq ``options`` (e.g. ``options=-csearch_path%3Dmyschema``) choose the schema.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import psycopg
import trio
from psycopg import errors as pg_errors
from psycopg.pq import ExecStatus, TransactionStatus
from psycopg_pool import ConnectionPool, PoolTimeout

from gateway.errors import ConfigError
from gateway.ledger._sqlschema import MIGRATIONS, migration_sql
from gateway.ledger._sqlstore import SqlStore
from gateway.ledger._sqltx import Row, SqlTx

__all__ = ["PostgresStore"]

T = TypeVar("T")
_RETRIES = 5
_RETRYABLE = (pg_errors.DeadlockDetected, pg_errors.SerializationFailure)


def _migrate(conn: psycopg.Connection[Any]) -> None:
    with conn.transaction():
        # Scoped to the schema, so that separate schemas (one per test run) never wait on each
        # other, while two processes starting on the same schema migrate one after the other.
        conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext('bitrouter.ledger.' || current_schema()))"
        )
        conn.execute("CREATE TABLE IF NOT EXISTS ledger_schema (version INTEGER PRIMARY KEY)")
        have = {row[0] for row in conn.execute("SELECT version FROM ledger_schema").fetchall()}
        for version, template in MIGRATIONS:
            if version in have:
                continue
            for statement in migration_sql(template, "postgres"):
                conn.execute(statement)
            conn.execute("INSERT INTO ledger_schema (version) VALUES (%s)", (version,))


class _PgDb:
    """Statements on one psycopg connection, batched into as few round trips as possible.

    Statements are bound on the client (``ClientCursor``) so that several go out as one
    simple query; each still runs as its own statement with its own snapshot, so a read that
    follows a ``FOR UPDATE`` in the same batch sees what the lock's holder committed. Writes
    wait and go out with the next read, or with the ``COMMIT``.
    """

    postgres = True

    def __init__(self, conn: psycopg.Connection[Any], begin: Sequence[str] = ()) -> None:
        self._conn = conn
        self._cursor = psycopg.ClientCursor(conn)
        self._begin = list(begin)
        self._pending: list[tuple[str, Sequence[object]]] = []

    def many(self, statements: Sequence[tuple[str, Sequence[object]]]) -> list[list[Row]]:
        """Send the pending writes and these statements in one round trip; each one's rows."""
        batch = [(sql, ()) for sql in self._begin] + self._pending + list(statements)
        self._begin, self._pending = [], []
        text = "; ".join(sql.replace("?", "%s") for sql, _ in batch)
        cursor = self._cursor
        cursor.execute(text, [arg for _, args in batch for arg in args])
        results: list[list[Row]] = []
        while True:
            result = cursor.pgresult
            tuples = result is not None and result.status == ExecStatus.TUPLES_OK
            results.append(cursor.fetchall() if tuples else [])
            if not cursor.nextset():
                break
        return results[len(results) - len(statements) :]

    def run(self, sql: str, *args: object) -> None:
        """Queue a write for the next round trip."""
        self._pending.append((sql, args))

    def commit(self) -> None:
        """Send what is pending with the ``COMMIT``."""
        if self._pending or not self._begin:
            self.many([("COMMIT", ())])

    def rollback(self) -> None:
        """Drop what is pending and roll back what was sent."""
        self._pending = []
        if self._conn.broken or self._conn.closed:
            return  # the pool replaces a broken connection; the server rolled it back
        if self._conn.info.transaction_status != TransactionStatus.IDLE:
            self._conn.execute("ROLLBACK")


class PostgresStore(SqlStore):
    """The ledger in a PostgreSQL database."""

    name = "postgres"

    def __init__(self, pool: ConnectionPool[Any], connections: int) -> None:
        self._pool = pool
        self._limiter = trio.CapacityLimiter(connections)

    @classmethod
    async def open(cls, url: str, *, connections: int = 8) -> PostgresStore:
        """Connect a pool to ``url`` and bring the schema up to date."""

        def setup() -> PostgresStore:
            # One plain connection first: a clear error at once if the server is not there,
            # rather than a pool timing out.
            with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
                _migrate(conn)
            pool: ConnectionPool[Any] = ConnectionPool(
                url,
                min_size=1,
                max_size=connections,
                open=False,
                kwargs={"autocommit": True},
                name="bitrouter-ledger",
            )
            try:
                pool.open(wait=True, timeout=10)
            except BaseException:
                pool.close()
                raise
            return cls(pool, connections)

        try:
            return await trio.to_thread.run_sync(setup)
        except (psycopg.Error, PoolTimeout) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"database: cannot open the Postgres ledger: {first}") from None

    def _write_sync(self, script: Callable[[SqlTx], T], durable: bool) -> T:
        begin = ["BEGIN"] if durable else ["BEGIN", "SET LOCAL synchronous_commit = off"]
        for attempt in range(_RETRIES):
            with self._pool.connection() as conn:
                db = _PgDb(conn, begin)
                try:
                    result = script(SqlTx(db))
                    db.commit()
                    return result
                except _RETRYABLE:
                    db.rollback()
                    if attempt == _RETRIES - 1:
                        raise
                except BaseException:
                    db.rollback()
                    raise
        raise AssertionError("unreachable")

    def _read_sync(self, script: Callable[[SqlTx], T]) -> T:
        with self._pool.connection() as conn:
            return script(SqlTx(_PgDb(conn)))

    async def write(self, script: Callable[[SqlTx], T], *, durable: bool = True) -> T:
        """Run ``script`` in one transaction on a pooled connection."""
        return await trio.to_thread.run_sync(
            self._write_sync, script, durable, limiter=self._limiter
        )

    async def read(self, script: Callable[[SqlTx], T]) -> T:
        """Run ``script`` on a pooled connection (each statement sees committed data)."""
        return await trio.to_thread.run_sync(self._read_sync, script, limiter=self._limiter)

    async def aclose(self) -> None:
        """Close the pool."""
        await trio.to_thread.run_sync(self._pool.close)
