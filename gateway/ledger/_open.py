"""Opening the ledger a URL names: ``sqlite:///PATH``, ``postgresql://…`` or ``memory://``."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import trio

from gateway.errors import ConfigError
from gateway.ledger._ledger import Ledger
from gateway.ledger._memory import MemoryStore
from gateway.ledger._sqlite import SqliteStore, sqlite_path
from gateway.ledger._store import Store
from gateway.settings._schema import LimitsSettings

__all__ = ["open_ledger"]


async def _open_store(url: str, connections: int) -> Store:
    if url.startswith("sqlite:"):
        return await SqliteStore.open(sqlite_path(url))
    if url.startswith(("postgresql://", "postgres://")):
        # psycopg (~9 MB resident) is loaded only by a gateway whose ledger is PostgreSQL.
        from gateway.ledger._postgres import PostgresStore

        return await PostgresStore.open(url, connections=connections)
    if url == "memory://":
        return MemoryStore()
    scheme = url.partition(":")[0] or url
    raise ConfigError(
        f"database.url: unsupported scheme {scheme!r} (use sqlite:///PATH or postgresql://…)"
    )


@asynccontextmanager
async def open_ledger(
    url: str,
    *,
    clock: Callable[[], float] = time.time,
    limits: LimitsSettings | None = None,
    recover: bool = True,
    connections: int = 8,
) -> AsyncIterator[Ledger]:
    """Open the ledger at ``url``, migrate its schema, recover expired reservations (unless
    ``recover`` is False), and close it on exit.

    Args:
        url: ``sqlite:///relative/path`` or ``sqlite:////absolute/path`` (WAL, created if
            missing), ``postgresql://…`` (shared by several processes), or ``memory://``.
        clock: unix seconds; inject one in tests.
        limits: the operator's rate limits and the reservation deadline.
        connections: most database connections (and worker threads) in use at once (Postgres).

    Raises:
        ConfigError: the URL is not supported or the database cannot be opened.
    """
    store = await _open_store(url, connections)
    try:
        ledger = Ledger(store, clock=clock, limits=limits or LimitsSettings())
        if recover:
            await ledger.recover_expired()
        yield ledger
    finally:
        with trio.CancelScope(shield=True):
            await store.aclose()
