"""A home with a master key and both embedded chains (stopped at the end), a fresh ledger and
settlement journal per test, and helpers to mint agent tokens and charge calls to them."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest

from gateway.chains._daemon import running_node, stop_node
from gateway.chains._interface import ChainFamily
from gateway.identity import (
    AccessPolicy,
    Keystore,
    MemoryRevocationStore,
    Principal,
    SystemClock,
    Verifier,
    mint_token,
)
from gateway.ledger import Ledger, open_ledger
from gateway.metering import LedgerSpendGuard
from gateway.onchain import AgentGrant, Onchain, open_onchain
from gateway.settings import AuthSettings, Settings
from tests.conftest import make_settings

CHAINS: tuple[ChainFamily, ...] = ("solana", "tempo")
USDC = 1_000_000


@dataclass
class World:
    """The module's home: a master key, embedded chains started on first use."""

    home: Path
    settings: Settings

    @property
    def keystore(self) -> Keystore:
        return Keystore(self.home)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One home per module; its embedded nodes are stopped at the end, whatever happened."""
    home = tmp_path_factory.mktemp("home")
    Keystore(home).generate_master()
    try:
        yield World(home, make_settings(home))
    finally:
        for name in CHAINS:
            stop_node(home, name)
            assert running_node(home, name) is None


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[Ledger]:
    """A fresh SQLite ledger for the test (it survives a simulated restart)."""
    async with open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}") as opened:
        yield opened


@asynccontextmanager
async def onchain_of(
    world: World, ledger: Ledger | None, tmp_path: Path, **options: Any
) -> AsyncIterator[Onchain]:
    """A gateway's on-chain service over the test's journal (a new one = a restarted gateway)."""
    settings = options.pop("settings", world.settings)
    async with open_onchain(
        settings,
        ledger,
        world.keystore,
        store_path=tmp_path / "settlements.db",
        cache_seconds=options.pop("cache_seconds", 0.0),
        **options,
    ) as onchain:
        yield onchain


async def new_agent(
    onchain: Onchain,
    chain: ChainFamily,
    *,
    per_tx_cap: int = 5 * USDC,
    cumulative_cap: int = 50 * USDC,
    expires_in: int = 3600,
) -> AgentGrant:
    """A funded wallet and a freshly derived agent with an authority on ``chain``."""
    await onchain.owner.create_wallet(chain)
    await onchain.owner.fund(chain, cumulative_cap + 10 * USDC)
    return await onchain.owner.derive_agent(
        f"agent-{secrets.token_hex(4)}",
        chain=chain,
        per_tx_cap=per_tx_cap,
        cumulative_cap=cumulative_cap,
        expires_at=int(time.time()) + expires_in,
    )


async def agent_principal(world: World, grant: AgentGrant) -> Principal:
    """The verified principal of a token the agent signs (``keygen --agent``)."""
    family: Literal["solana", "evm"] = "solana" if grant.chain == "solana" else "evm"
    token = mint_token(world.keystore, agent=grant.label, family=family)
    settings = AuthSettings()
    policy = AccessPolicy(settings, world.keystore, clock=SystemClock())
    verifier = Verifier(settings, policy, MemoryRevocationStore())
    return await verifier.verify(token, scope="api")


async def charge(guard: LedgerSpendGuard, principal: Principal, *amounts: int) -> None:
    """Calls served and charged through the metering guard, as the faces do it."""
    for amount in amounts:
        hold = await guard.reserve(
            principal,
            kind="model",
            subject="test/model",
            amount=amount,
            tokens=0,
            request_id=secrets.token_hex(6),
        )
        await guard.settle(hold, amount, {})
