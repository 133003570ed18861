"""The Solana chain family: USDC as an SPL token, agent authorities as spending-caps grants.

``open_solana(settings.chains.solana, home)`` gives a :class:`SolanaChain` (a
``ChainBackend``); the embedded node lives in :mod:`gateway.chains.solana.node`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.chains.solana._backend import NODE_MODULE, SolanaChain, open_solana

__all__ = ["NODE_MODULE", "SolanaChain", "open_solana"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: the embedded node process imports this package too and needs none
    # of the backend's (slow to import) RPC client.
    if name in __all__:
        from gateway.chains.solana import _backend

        return getattr(_backend, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
