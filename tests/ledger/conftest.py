"""Fixtures for the ledger tests: one store per parameter (memory, SQLite, a private Postgres
schema), a clock that moves with trio's clock, and a runner for ledger worker processes.

Time: ``clock()`` is ``T0 + trio.current_time()``, so with pytest-trio's ``autojump_clock``,
``await trio.sleep(s)`` moves the ledger's time by exactly s seconds without waiting.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
import trio

from gateway.ledger import Ledger, open_ledger
from gateway.settings._schema import LimitsSettings

PG_BASE = "postgresql://127.0.0.1:5432/test?user=postgres"
T0 = 1_800_000_000.0
WORKER = Path(__file__).with_name("ledger_worker.py")


def _trio_clock() -> float:
    return T0 + trio.current_time()


@pytest.fixture
def clock() -> Callable[[], float]:
    """The ledger's clock in these tests: unix seconds moving with trio's clock."""
    return _trio_clock


@pytest.fixture(scope="session")
def postgres_up() -> bool:
    """Whether the test Postgres answers (its tests are skipped when it does not)."""
    try:
        psycopg.connect(PG_BASE, connect_timeout=3).close()
    except psycopg.Error:
        return False
    return True


@pytest.fixture
def pg_url(postgres_up: bool) -> Iterator[str]:
    """A URL whose search_path is a fresh schema, dropped after the test."""
    if not postgres_up:
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    schema = f"ledger_t{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        try:
            yield f"{PG_BASE}&options={quote(f'-csearch_path={schema}')}"
        finally:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store in turn."""
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store that several processes can share."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def make_ledger(ledger_url: str) -> Callable[..., AbstractAsyncContextManager[Ledger]]:
    """Open the ledger of this test's store with ``LimitsSettings(**limits)``."""

    def make(**limits: Any) -> AbstractAsyncContextManager[Ledger]:
        return open_ledger(ledger_url, clock=_trio_clock, limits=LimitsSettings(**limits))

    return make


@pytest.fixture
async def ledger(
    make_ledger: Callable[..., AbstractAsyncContextManager[Ledger]],
) -> AsyncIterator[Ledger]:
    """The ledger of this test's store with default limits."""
    async with make_ledger() as opened:
        yield opened


async def _run_worker(*args: object) -> Any:
    command = [sys.executable, str(WORKER), *(json.dumps(a) for a in args)]
    with trio.fail_after(120):
        done = await trio.run_process(
            command, capture_stdout=True, capture_stderr=True, check=False
        )
    if done.returncode != 0:
        raise AssertionError(f"worker {args[0]} failed: {done.stderr.decode()[-2000:]}")
    return json.loads(done.stdout)


@pytest.fixture
def worker() -> Callable[..., Awaitable[Any]]:
    """Run ``ledger_worker.py COMMAND ARGS…`` in its own process; the JSON it prints."""
    return _run_worker
