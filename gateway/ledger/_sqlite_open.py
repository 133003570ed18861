"""Opening a SQLite file that other processes may be creating or opening at the same moment
(several gateways starting on one home): its set-up is serialized, and the switch to WAL is
retried."""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["enable_wal", "setup_lock"]

_RETRY_SECONDS = 10.0


@contextlib.contextmanager
def setup_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock beside the database ``path`` (``<path>.setup-lock``) for the
    block: one opener at a time creates, migrates and first connects to it (blocking)."""
    fd = os.open(f"{path}.setup-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def enable_wal(conn: sqlite3.Connection) -> None:
    """Put ``conn``'s database in WAL mode (a no-op once it is).

    A switch can meet another connection that holds the file's lock: SQLite answers "database is
    locked" at once, without calling the busy handler (waiting could deadlock), so the switch is
    tried again, briefly, until it goes through.
    """
    deadline = time.monotonic() + _RETRY_SECONDS
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)
