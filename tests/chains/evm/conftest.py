"""One embedded EVM node per test module, in a temporary home, always stopped at the end."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from gateway.chains._daemon import ensure_node, running_node, stop_node
from gateway.chains.evm import EvmChain, open_evm_chain
from gateway.settings import Settings

NODE = "tempo"
MODULE = "gateway.chains.evm.node"


class NodeControl:
    """Start and stop the embedded node of one home."""

    def __init__(self, home: Path) -> None:
        self.home = home

    def start(self) -> str:
        """Start (or find) the node; its URL."""
        return start_node(self.home)

    def stop(self) -> bool:
        """Stop the node; True if one was running."""
        return stop(self.home)


def start_node(home: Path) -> str:
    """Start (or find) the home's node; its URL."""
    return ensure_node(home, NODE, MODULE, idle_seconds=300)


def stop(home: Path) -> bool:
    """Stop the home's node; True if one was running."""
    stopped = stop_node(home, NODE)
    assert running_node(home, NODE) is None
    return stopped


@pytest.fixture(scope="module")
def evm_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeControl]:
    """A home whose embedded tempo node runs for the whole module."""
    control = NodeControl(tmp_path_factory.mktemp("home"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BITROUTER_HOME", str(control.home))
        control.start()
        try:
            yield control
        finally:
            control.stop()


@pytest.fixture(scope="module")
def evm_home(evm_node: NodeControl) -> Path:
    """The home of the module's node."""
    return evm_node.home


@pytest.fixture
async def evm_chain(evm_home: Path) -> AsyncIterator[EvmChain]:
    """The backend for the module's node, built the way the gateway builds it."""
    chain = await open_evm_chain(Settings(home=evm_home))
    try:
        yield chain
    finally:
        chain.close()
