"""Switching a SQLite file to WAL mode when other processes may be opening it too."""

from __future__ import annotations

import sqlite3
import time

__all__ = ["enable_wal"]

_RETRY_SECONDS = 10.0


def enable_wal(conn: sqlite3.Connection) -> None:
    """Put ``conn``'s database in WAL mode (a no-op once it is).

    Gateways starting together on one home switch a new file at the same moment; SQLite answers
    the loser "database is locked" at once, without calling the busy handler (waiting could
    deadlock). So the switch is tried again, briefly, until it goes through.
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
