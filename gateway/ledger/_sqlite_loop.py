"""The event loop's own connection to the SQLite ledger: writes and point reads that never wait.

A reservation, a charge or a revocation check is a few indexed statements — tens of µs — while
a trip to a worker thread and back costs several times that in CPU, and more in latency on a
busy machine. So the store first tries them here, on the event loop, on a connection that
cannot block it: it never waits for a lock (``busy_timeout = 0``: if another connection or
process holds the write lock, the attempt fails at once and the store takes the worker-thread
path), never syncs the disk itself (``synchronous = NORMAL`` in WAL mode: a commit is a write
into the WAL file) and never checkpoints (``wal_autocheckpoint = 0``).

Durability is then made explicit: a write that must survive a power loss waits for
:meth:`LoopConnection.sync`, which fsyncs the WAL file in a worker thread — the sync
``synchronous = FULL`` would have done at the commit — shared by every commit made before it
started (group commit). The same worker thread checkpoints the WAL every so many commits,
since nothing else would now.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import outcome
import trio

from gateway.ledger._sqltx import Row, SqlTx

__all__ = ["LoopConnection", "SqliteDb", "busy"]

T = TypeVar("T")
_CHECKPOINT_EVERY = 500  # commits; SQLite's own default is every 1000 WAL pages


def busy(exc: sqlite3.OperationalError) -> bool:
    """Whether ``exc`` says the database was locked by someone else (SQLITE_BUSY/LOCKED)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return "locked" in str(exc) or "busy" in str(exc)
    return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class SqliteDb:
    """Statements on one sqlite3 connection, run at once."""

    postgres = False

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def many(self, statements: Sequence[tuple[str, Sequence[object]]]) -> list[list[Row]]:
        """Run each statement; its rows."""
        return [self._conn.execute(sql, args).fetchall() for sql, args in statements]

    def run(self, sql: str, *args: object) -> None:
        """Run one statement."""
        self._conn.execute(sql, args)


class LoopConnection:
    """Non-blocking writes and reads on the event loop, and the WAL syncs they wait for."""

    def __init__(
        self, conn: sqlite3.Connection, checkpointer: sqlite3.Connection, wal_fd: int | None
    ) -> None:
        self._conn = conn
        self._tx = SqlTx(SqliteDb(conn))
        self._checkpointer = checkpointer
        self._wal_fd = wal_fd
        self._sync_lock = trio.Lock()
        self._sync_limiter = trio.CapacityLimiter(1)
        self._committed = 0  # commits made here so far
        self._synced = 0  # of which the WAL holds durably
        self._checkpointed = 0

    @classmethod
    def open(cls, path: Path) -> LoopConnection:
        """Connect (blocking: call it from a worker thread, after the schema is migrated)."""
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=0)
        conn.execute("PRAGMA busy_timeout = 0")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        checkpointer = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=0
        )
        checkpointer.execute("PRAGMA busy_timeout = 0")  # a busy checkpoint waits for the next
        checkpointer.execute("PRAGMA synchronous = FULL")
        try:
            wal_fd: int | None = os.open(f"{path}-wal", os.O_RDONLY)
        except OSError:
            wal_fd = None  # no WAL file to sync: durable writes take the worker-thread path
        return cls(conn, checkpointer, wal_fd)

    @property
    def can_sync(self) -> bool:
        """Whether durable writes can be made here now: the WAL file is open for syncing and
        no sync is running (if one is, writes are arriving together: the writer thread's
        batches, one transaction for many writes, then cost less than one each here)."""
        return self._wal_fd is not None and not self._sync_lock.locked()

    def try_write(self, script: Callable[[SqlTx], T]) -> outcome.Outcome[T] | None:
        """Run ``script`` in a ``BEGIN IMMEDIATE`` transaction now; None if the lock is taken.

        Committed (not yet synced) when the outcome is a value; rolled back when it is an error.
        """
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if busy(exc):
                return None
            raise
        finished = False
        try:
            result = outcome.capture(script, self._tx)
            if isinstance(result, outcome.Value):
                conn.execute("COMMIT")
                self._committed += 1
            else:
                conn.execute("ROLLBACK")
            finished = True
            return result
        finally:
            if not finished:
                conn.execute("ROLLBACK")

    def try_read(self, script: Callable[[SqlTx], T]) -> outcome.Outcome[T] | None:
        """Run ``script`` in a read transaction now; None if the database is locked."""
        conn = self._conn
        try:
            conn.execute("BEGIN")
            try:
                return outcome.capture(script, self._tx)
            finally:
                conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if busy(exc):
                return None
            raise

    async def sync(self) -> None:
        """Return once every commit made here so far is durable (call it shielded)."""
        mine = self._committed
        async with self._sync_lock:
            if self._synced >= mine:
                return  # a sync that started after our commit covered it
            target = self._committed
            checkpoint = target - self._checkpointed >= _CHECKPOINT_EVERY
            await trio.to_thread.run_sync(self._sync_wal, checkpoint, limiter=self._sync_limiter)
            self._synced = target
            if checkpoint:
                self._checkpointed = target

    def _sync_wal(self, checkpoint: bool) -> None:
        assert self._wal_fd is not None
        os.fdatasync(self._wal_fd)  # as SQLite syncs its WAL
        if checkpoint:
            # PASSIVE: copies what it can without waiting for readers or writers; if another
            # connection is checkpointing right now, this one is simply left for the next time.
            try:
                self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.OperationalError as exc:
                if not busy(exc):
                    raise

    def close(self) -> None:
        """Close the connections and the WAL file (blocking)."""
        self._conn.close()
        self._checkpointer.close()
        if self._wal_fd is not None:
            os.close(self._wal_fd)
            self._wal_fd = None
