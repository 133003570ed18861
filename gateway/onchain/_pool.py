"""The chain backends, opened on first use (an embedded node starts only when needed).

A gateway that never touches a chain never starts its node; the first caller of ``get`` opens
the backend (starting the node if it is embedded) while later callers wait for it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping

import trio

from gateway.chains._daemon import ever_started, running_node
from gateway.chains._interface import ChainBackend, ChainFamily
from gateway.settings import Settings

__all__ = ["CHAINS", "ChainPool"]

CHAINS: tuple[ChainFamily, ...] = ("solana", "tempo")


class ChainPool:
    """Backends per chain family, opened lazily and closed together."""

    def __init__(
        self,
        settings: Settings,
        *,
        backends: Mapping[ChainFamily, ChainBackend] | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self._settings = settings
        self._open: dict[ChainFamily, ChainBackend] = dict(backends or {})
        self._locks = {chain: trio.Lock() for chain in CHAINS}
        self._stack = contextlib.AsyncExitStack()
        self.progress = progress

    def never_started(self, chain: ChainFamily) -> bool:
        """Whether ``chain`` is embedded and its node was never started in this home — so it
        holds no wallet and no authority, and there is nothing to read (or start) yet."""
        section = self._settings.chains.solana if chain == "solana" else self._settings.chains.tempo
        if chain in self._open or section.mode != "embedded":
            return False
        return not ever_started(self._settings.home, chain)

    def opened(self) -> tuple[ChainFamily, ...]:
        """The chain families opened so far."""
        return tuple(chain for chain in CHAINS if chain in self._open)

    async def get(self, chain: ChainFamily) -> ChainBackend:
        """The backend of ``chain``, opening it (and starting its embedded node) if needed."""
        if chain in self._open:
            return self._open[chain]
        async with self._locks[chain]:
            if chain not in self._open:
                self._open[chain] = await self._connect(chain)
        return self._open[chain]

    async def _connect(self, chain: ChainFamily) -> ChainBackend:
        section = self._settings.chains.solana if chain == "solana" else self._settings.chains.tempo
        if (
            self.progress is not None
            and section.mode == "embedded"
            and running_node(self._settings.home, chain) is None
        ):
            self.progress(f"starting the embedded {chain} chain")
        if chain == "solana":
            # Imported on first use: the Solana client is slow to import.
            from gateway.chains.solana import open_solana

            return await self._stack.enter_async_context(open_solana(section, self._settings.home))
        from gateway.chains.evm import open_evm_chain

        evm = await open_evm_chain(self._settings)
        self._stack.callback(evm.close)
        return evm

    async def aclose(self) -> None:
        """Close every backend this pool opened (injected ones belong to their opener)."""
        with trio.CancelScope(shield=True):
            await self._stack.aclose()
