"""Fixtures of the ACP face tests: the home's keys and verifier, and the whole test gateway."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import trio

from gateway.identity import AccessPolicy, Keystore, MemoryRevocationStore, Verifier, WalletKey
from gateway.settings import AuthSettings
from tests.acp.acp_stack import Stack, StartStack, start_stack


class _SystemClock:
    def now(self) -> float:
        return time.time()


@pytest.fixture
def master(home: Path) -> WalletKey:
    """The home's master key."""
    key, _ = Keystore(home).generate_master()
    return key


@pytest.fixture
def verifier(home: Path, master: WalletKey) -> Verifier:
    """The real token verifier of the home (policy ``local``)."""
    settings = AuthSettings()
    policy = AccessPolicy(settings, Keystore(home), clock=_SystemClock())
    return Verifier(settings, policy, MemoryRevocationStore())


@pytest.fixture
def stack(nursery: trio.Nursery, home: Path, master: WalletKey, verifier: Verifier) -> StartStack:
    """``await stack(cap=None, hosted=("assistant", "fake"), agents={name: {field: value}})``:
    the whole gateway, running."""

    async def start(**options: Any) -> Stack:
        return await start_stack(nursery, home, master, verifier, **options)

    return start
