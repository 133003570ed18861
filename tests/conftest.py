"""Fixtures every test package shares: a private home, settings, a served gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from gateway.settings import Settings, settings_from_mapping


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty home folder, also exported as ``BITROUTER_HOME``."""
    path = tmp_path / "home"
    path.mkdir(mode=0o700)
    monkeypatch.setenv("BITROUTER_HOME", str(path))
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "BITROUTER_URL"):
        monkeypatch.delenv(name, raising=False)
    yield path


def make_settings(home: Path, **sections: Any) -> Settings:
    """Settings for a test: defaults plus ``sections``, with an empty environment."""
    return settings_from_mapping(sections, home, environ={})


@pytest.fixture
def token(home: Path) -> str:
    """An ``api`` token of the home's (freshly generated) master key."""
    from gateway.identity import Keystore, mint_token

    keystore = Keystore(home)
    if not keystore.has_master():
        keystore.generate_master()
    return mint_token(keystore)


@pytest.fixture
async def served(home: Path, nursery: trio.Nursery) -> AsyncIterator[str]:
    """A gateway on a free loopback port with default settings; yields its base URL."""
    from gateway.http import serve

    settings = make_settings(home)
    urls = await nursery.start(
        lambda task_status: serve(
            settings, host="127.0.0.1", port=0, handle_signals=False, task_status=task_status
        )
    )
    yield urls[0]
    nursery.cancel_scope.cancel()
    stop_chain_nodes(home)


def stop_chain_nodes(home: Path) -> None:
    """Stop the embedded chain nodes a test's gateway started in ``home`` (e.g. /v1/balance)."""
    from gateway.chains._daemon import stop_node

    for name in ("solana", "tempo"):
        if (home / "chains" / name).exists():
            stop_node(home, name)


@pytest.fixture
async def client(served: str, token: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the served gateway, carrying the master key's ``api`` token."""
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=served, timeout=10, headers=headers) as c:
        yield c
