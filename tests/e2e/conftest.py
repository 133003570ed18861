"""Fixtures of the end-to-end tests: a stack of real processes, a private Postgres schema."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from tests.e2e.stack import Stack

PG_BASE = "postgresql://127.0.0.1:5432/test?user=postgres"
SLOW = os.environ.get("BITROUTER_SLOW_TESTS") == "1"


@contextmanager
def stack_printing_logs(tmp: Path) -> Iterator[Stack]:
    """Processes started by a test, all stopped at the end (their output is printed, and so
    shown when the test fails)."""
    stack = Stack(tmp)
    try:
        yield stack
    finally:
        try:
            stack.close()
        finally:
            print(stack.logs())


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """The test's processes, stopped when it ends."""
    with stack_printing_logs(tmp_path) as opened:
        yield opened


@contextmanager
def private_schema() -> Iterator[str]:
    """A ledger URL whose search_path is a fresh Postgres schema, dropped afterwards (the test
    is skipped when the server is not running)."""
    try:
        psycopg.connect(PG_BASE, connect_timeout=3).close()
    except psycopg.Error:
        if os.environ.get("BITROUTER_REQUIRE_POSTGRES") == "1":  # CI: a skip would hide it
            pytest.fail("PostgreSQL is not running on 127.0.0.1:5432")
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    schema = f"e2e_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        try:
            yield f"{PG_BASE}&options={quote(f'-csearch_path={schema}')}"
        finally:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A ledger URL on a private Postgres schema."""
    with private_schema() as url:
        yield url
