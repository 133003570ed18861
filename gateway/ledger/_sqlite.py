"""The embedded ledger: one SQLite file in WAL mode, safe for every process that opens it.

Writes go through one connection per process, one transaction at a time, and each takes the
database's write lock with ``BEGIN IMMEDIATE`` — so a reservation's reads and writes are one
atomic step across processes too. Writes that arrive together share a transaction (group
commit), each in a savepoint of its own. Reads use a few more connections and never
wait for writers (WAL). Charges commit with ``synchronous=FULL`` (durable across power loss);
reservations with ``NORMAL`` (durable across a process crash): a reservation lost with the
machine holds nothing that could be overspent, since its request died with it.

Several processes may share the file (a CLI next to the server, a test's workers), but SQLite
makes a waiting writer poll for the lock: for several busy gateway processes, use Postgres.

On the hot path, writes and the revocation check are first tried on the event loop itself
(``_sqlite_loop``), on a connection that never waits for a lock nor syncs the disk at the
commit: a charge then waits for the WAL file's fsync in a worker thread, shared with every
commit before it — the same durability as ``synchronous=FULL``. When the lock is taken (a batch
in the writer thread, another process), the write goes to the writer thread as above.
"""

from __future__ import annotations

import queue
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import outcome
import trio

from gateway.errors import ConfigError
from gateway.ledger._sqlite_loop import LoopConnection, SqliteDb
from gateway.ledger._sqlite_open import enable_wal, setup_lock
from gateway.ledger._sqlschema import MIGRATIONS, migration_sql
from gateway.ledger._sqlstore import SqlStore
from gateway.ledger._sqltx import SqlTx

__all__ = ["SqliteStore", "sqlite_path"]

T = TypeVar("T")
_BUSY_TIMEOUT_MS = 30_000


def sqlite_path(url: str) -> Path:
    """The file of a ``sqlite:///relative`` or ``sqlite:////absolute`` URL."""
    rest = url.removeprefix("sqlite:///")
    if rest == url or not rest:
        raise ConfigError(f"database.url: expected sqlite:///PATH, got {url!r}")
    return Path(rest)


def _connect(path: Path, *, read_only: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, timeout=_BUSY_TIMEOUT_MS / 1000
    )
    conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA synchronous = FULL")
    if read_only:
        conn.execute("PRAGMA query_only = 1")
    return conn


def _migrate(conn: sqlite3.Connection) -> None:
    enable_wal(conn)  # WAL is a property of the file; setting it again is a no-op
    conn.execute("BEGIN IMMEDIATE")
    done = False
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS ledger_schema (version INTEGER PRIMARY KEY)")
        have = {row[0] for row in conn.execute("SELECT version FROM ledger_schema")}
        for version, template in MIGRATIONS:
            if version in have:
                continue
            for statement in migration_sql(template, "sqlite"):
                conn.execute(statement)
            conn.execute("INSERT INTO ledger_schema (version) VALUES (?)", (version,))
        conn.execute("COMMIT")
        done = True
    finally:
        if not done:
            conn.execute("ROLLBACK")


@dataclass(slots=True)
class _Job(Generic[T]):
    """A write waiting for the writer connection, and its outcome once run."""

    script: Callable[[SqlTx], T]
    durable: bool
    result: outcome.Outcome[T] | None = None


class SqliteStore(SqlStore):
    """The ledger in one SQLite file."""

    name = "sqlite"

    def __init__(
        self,
        path: Path,
        writer: sqlite3.Connection,
        readers: list[sqlite3.Connection],
        loop: LoopConnection,
    ):
        self.path = path
        self._writer = writer
        self._loop = loop
        self._write_limiter = trio.CapacityLimiter(1)
        self._leader = trio.Lock()
        self._queue: list[_Job[Any]] = []
        self._readers: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        for conn in readers:
            self._readers.put(conn)
        self._all_readers = readers
        self._read_limiter = trio.CapacityLimiter(len(readers))
        self._durable = True

    @classmethod
    async def open(cls, path: Path, *, readers: int = 3) -> SqliteStore:
        """Open (creating if needed) the database file and bring its schema up to date."""

        def setup() -> SqliteStore:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            with setup_lock(path):
                fresh = not path.exists()
                writer = _connect(path, read_only=False)
                if fresh:
                    path.chmod(0o600)
                _migrate(writer)
                readers_ = [_connect(path, read_only=True) for _ in range(readers)]
                return cls(path, writer, readers_, LoopConnection.open(path))

        try:
            return await trio.to_thread.run_sync(setup)
        except sqlite3.Error as exc:
            raise ConfigError(f"database {path}: {exc}") from None

    def _run_batch(self, batch: list[_Job[Any]]) -> None:
        """Run queued writes in one transaction, each in its own savepoint (worker thread)."""
        conn = self._writer
        durable = any(job.durable for job in batch)
        if durable != self._durable:
            conn.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
            self._durable = durable
        tx = SqlTx(SqliteDb(conn))
        committed = False
        conn.execute("BEGIN IMMEDIATE")
        try:
            for job in batch:
                conn.execute("SAVEPOINT job")
                job.result = outcome.capture(job.script, tx)
                if isinstance(job.result, outcome.Error):
                    conn.execute("ROLLBACK TO job")  # a refused job leaves nothing behind
                conn.execute("RELEASE job")
            conn.execute("COMMIT")
            committed = True
        finally:
            if not committed:
                conn.execute("ROLLBACK")

    def _read_sync(self, script: Callable[[SqlTx], T]) -> T:
        conn = self._readers.get_nowait()  # the limiter lets at most one thread per connection in
        try:
            conn.execute("BEGIN")
            try:
                return script(SqlTx(SqliteDb(conn)))
            finally:
                conn.execute("COMMIT")
        finally:
            self._readers.put(conn)

    async def read_point(self, script: Callable[[SqlTx], T]) -> T:
        """A read of a few rows by key: on the event loop unless the database is locked."""
        done = self._loop.try_read(script)
        if done is None:
            return await self.read(script)
        await trio.lowlevel.checkpoint()
        return done.unwrap()

    async def write(self, script: Callable[[SqlTx], T], *, durable: bool = True) -> T:
        """Run ``script`` in a ``BEGIN IMMEDIATE`` transaction, committed before returning.

        It runs at once on the event loop when nothing holds the lock and no other write is
        under way (see the module's docstring), a durable one then waiting for the WAL's sync;
        otherwise it goes to the writer thread as follows.

        Writes that arrive while one is running queue up and go together in the next
        transaction (group commit: one disk sync for the lot). A queued write runs even if its
        caller is cancelled meanwhile, and returns its result: the cancellation arrives at the
        caller's next checkpoint, as with any call into a worker thread.
        """
        loop = self._loop
        if not self._queue and not self._leader.locked() and (loop.can_sync or not durable):
            done = loop.try_write(script)
            if done is not None:
                # Committed: a cancellation must not lose the result (a reservation would be
                # left open until recovery), so it arrives at the caller's next checkpoint.
                if durable and isinstance(done, outcome.Value):
                    with trio.CancelScope(shield=True):
                        await loop.sync()
                else:
                    await trio.lowlevel.cancel_shielded_checkpoint()
                return done.unwrap()
        job = _Job(script, durable)
        self._queue.append(job)
        with trio.CancelScope(shield=True):
            async with self._leader:
                if job.result is None:  # no earlier leader took it: take everything queued
                    batch, self._queue = self._queue, []
                    try:
                        await trio.to_thread.run_sync(
                            self._run_batch, batch, limiter=self._write_limiter
                        )
                    except sqlite3.Error as exc:  # nothing was committed: every job failed
                        for waiting in batch:
                            waiting.result = outcome.Error(exc)
                    finally:
                        for waiting in batch:
                            if waiting.result is None:
                                waiting.result = outcome.Error(RuntimeError("write not run"))
        assert job.result is not None
        return job.result.unwrap()

    async def read(self, script: Callable[[SqlTx], T]) -> T:
        """Run ``script`` in a read transaction (one consistent snapshot)."""
        return await trio.to_thread.run_sync(self._read_sync, script, limiter=self._read_limiter)

    async def aclose(self) -> None:
        """Close every connection."""

        def close() -> None:
            for conn in (self._writer, *self._all_readers):
                conn.close()
            self._loop.close()

        await trio.to_thread.run_sync(close, limiter=self._write_limiter)
