"""One embedded Solana node per test module, in a temporary home, always stopped at the end."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trio
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.constants import TOKEN_PROGRAM_ID

from gateway.chains._daemon import ensure_node, node_dir, running_node, stop_node
from gateway.chains.solana import NODE_MODULE, SolanaChain

NAME = "solana"


class SolanaNode:
    """Start, find and stop the embedded node of one home."""

    def __init__(self, home: Path) -> None:
        self.home = home

    def start(self) -> str:
        """Start (or find) the node; its URL."""
        return ensure_node(self.home, NAME, NODE_MODULE, idle_seconds=120)

    @property
    def url(self) -> str:
        """The running node's URL."""
        url = running_node(self.home, NAME)
        assert url is not None
        return url

    def stop(self) -> bool:
        """Stop the node (SIGTERM); True if it ran and shut down cleanly."""
        stopped = stop_node(self.home, NAME)
        assert running_node(self.home, NAME) is None
        # Only the node's own shutdown path unpublishes node.json.
        return stopped and not (node_dir(self.home, NAME) / "node.json").exists()


@pytest.fixture(scope="module")
def solana_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SolanaNode]:
    """A home whose embedded Solana node runs for the whole module."""
    node = SolanaNode(tmp_path_factory.mktemp("home"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BITROUTER_HOME", str(node.home))
        node.start()
        try:
            yield node
        finally:
            node.stop()


@pytest.fixture
async def chain(solana_node: SolanaNode) -> AsyncIterator[SolanaChain]:
    """The backend on the module's node (started again if a test stopped it)."""
    url = await trio.to_thread.run_sync(solana_node.start)
    async with SolanaChain.connect(url, embedded=True) as backend:
        yield backend


@pytest.fixture
async def rpc(solana_node: SolanaNode, chain: SolanaChain) -> AsyncIterator[AsyncClient]:
    """A bare solana-py client on the node, for talking to the chain past the backend."""
    async with AsyncClient(solana_node.url, commitment=Confirmed) as client:
        yield client


@dataclass(frozen=True)
class Parties:
    """An owner, an agent and a payee with fresh keys."""

    owner_secret: bytes
    payee_secret: bytes
    agent_key: Keypair

    @classmethod
    def new(cls) -> Parties:
        return cls(secrets.token_bytes(32), secrets.token_bytes(32), Keypair())

    @property
    def owner(self) -> str:
        return str(Keypair.from_seed(self.owner_secret).pubkey())

    @property
    def payee_key(self) -> Keypair:
        return Keypair.from_seed(self.payee_secret)

    @property
    def payee(self) -> str:
        return str(self.payee_key.pubkey())

    @property
    def agent(self) -> str:
        return str(self.agent_key.pubkey())

    @property
    def agent_account(self) -> Pubkey:
        """Where the agent's USDC sits, derived as the spec says."""
        owner = Pubkey.from_string(self.owner)
        return Pubkey.create_with_seed(owner, self.agent[:32], TOKEN_PROGRAM_ID)


async def granted(
    chain: SolanaChain,
    *,
    per_tx_cap: int,
    cumulative_cap: int,
    funded: int = 50_000_000,
    expires_in: int = 3600,
) -> Parties:
    """Fresh parties with a funded wallet and an authority granted on-chain."""
    parties = Parties.new()
    await chain.create_wallet(parties.owner_secret)
    await chain.fund(parties.owner, funded)
    expires_at = await chain.chain_time() + expires_in
    await chain.grant(
        parties.owner_secret, parties.agent, parties.payee, per_tx_cap, cumulative_cap, expires_at
    )
    return parties


@pytest.fixture
def new_parties() -> Callable[[], Parties]:
    """Make fresh parties (no wallet yet)."""
    return Parties.new


@pytest.fixture
def grant_new(chain: SolanaChain) -> Callable[..., Awaitable[Parties]]:
    """``await grant_new(per_tx_cap=…, cumulative_cap=…)``: parties holding a fresh authority."""

    async def make(**limits: int) -> Parties:
        return await granted(chain, **limits)

    return make
