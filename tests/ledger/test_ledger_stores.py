"""The stores: URLs, the SQLite file, and migrations when several processes start at once."""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
import trio

from gateway.errors import ConfigError
from gateway.ledger import open_ledger


@pytest.mark.req("SPEND-20")
async def test_processes_starting_at_once_migrate_exactly_once(
    shared_url: str, worker: Callable[..., Awaitable[Any]]
) -> None:
    results: list[dict[str, Any]] = []

    async def start() -> None:
        results.append(await worker("open", shared_url))

    async with trio.open_nursery() as nursery:
        for _ in range(3):
            nursery.start_soon(start)
    assert [r["ok"] for r in results] == [True, True, True]
    query = "SELECT version FROM ledger_schema"
    if shared_url.startswith("sqlite"):
        with sqlite3.connect(shared_url.removeprefix("sqlite:///")) as conn:
            versions = conn.execute(query).fetchall()
    else:
        with psycopg.connect(shared_url) as pg:
            versions = pg.execute(query).fetchall()
    assert sorted(versions) == [(1,), (2,)]


@pytest.mark.req("SPEND-20")
async def test_the_sqlite_ledger_is_a_private_wal_file(tmp_path: Path) -> None:
    path = tmp_path / "home" / "bitrouter.db"
    async with open_ledger(f"sqlite:///{path}") as ledger:
        assert ledger.backend == "sqlite"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


@pytest.mark.req("SPEND-20")
async def test_postgres_schema_comes_from_the_url(pg_url: str) -> None:
    async with open_ledger(pg_url) as ledger:
        assert ledger.backend == "postgres"
    with psycopg.connect(pg_url) as pg:
        schema = pg.execute("SELECT current_schema()").fetchone()
        tables = pg.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() ORDER BY table_name"
        ).fetchall()
    assert schema is not None and schema[0].startswith("ledger_t")
    assert [t[0] for t in tables] == [
        "ledger_accounts",
        "ledger_authorities",
        "ledger_buckets",
        "ledger_entries",
        "ledger_quotes",
        "ledger_revocations",
        "ledger_schema",
    ]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://localhost/db", "unsupported scheme 'mysql'"),
        ("sqlite:/no/slashes", "expected sqlite:///PATH"),
        ("postgresql://127.0.0.1:1/test?user=postgres", "cannot open the Postgres ledger"),
    ],
)
async def test_a_bad_database_url_is_one_clear_error(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        async with open_ledger(url):
            pass
    assert "\n" not in caught.value.message
