"""Fixtures for identity tests: a settable clock, a home with a master key, a verifier factory."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import pytest

from gateway.identity import (
    AccessPolicy,
    Keystore,
    MemoryRevocationStore,
    OnchainCheck,
    TokenCodec,
    Verifier,
    WalletKey,
    issue_claims,
)
from gateway.settings import AuthSettings

NOW = 1_750_000_000


class FakeClock:
    """A clock the test sets."""

    def __init__(self, now: float = NOW) -> None:
        self.t = now

    def now(self) -> float:
        return self.t


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def keystore(home: Path) -> Keystore:
    """A home with a master key."""
    store = Keystore(home)
    store.generate_master()
    return store


@pytest.fixture
def master(keystore: Keystore) -> WalletKey:
    return keystore.master()


MakeVerifier = Callable[..., tuple[Verifier, MemoryRevocationStore]]


@pytest.fixture
def make_verifier(keystore: Keystore, clock: FakeClock) -> MakeVerifier:
    """``make_verifier(policy="open", allow=(), cache=10_000, onchain=None, store=None)``."""

    def make(
        policy: Literal["local", "open", "allowlist", "onchain"] = "local",
        allow: Sequence[str] = (),
        cache: int = 10_000,
        onchain: OnchainCheck | None = None,
        store: MemoryRevocationStore | None = None,
    ) -> tuple[Verifier, MemoryRevocationStore]:
        settings = AuthSettings(policy=policy, allow=tuple(allow), token_cache_size=cache)
        revocations = store or MemoryRevocationStore()
        access = AccessPolicy(settings, keystore, clock=clock, onchain=onchain)
        return Verifier(settings, access, revocations, clock=clock), revocations

    return make


Mint = Callable[..., str]


@pytest.fixture
def mint() -> Mint:
    """``mint(key, family="solana", scope="api", exp=NOW + 3600, **claims)`` → a signed token."""
    codec = TokenCodec()

    def make(
        key: WalletKey,
        family: Literal["solana", "evm"] = "solana",
        *,
        scope: Literal["api", "admin"] = "api",
        exp: int | None = NOW + 3600,
        **claims: Any,
    ) -> str:
        return codec.sign(issue_claims(key, family, scope=scope, iat=NOW, exp=exp, **claims), key)

    return make
