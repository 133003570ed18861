"""The Tempo/EVM chain family: USDC as an ERC-20/TIP-20, spending caps in SpendingAuthority.

``await open_evm_chain(settings)`` returns an :class:`EvmChain` (a ``ChainBackend``) for
``settings.chains.tempo``; ``EvmChain(rpc_url, usdc, authority)`` builds one directly.
"""

from __future__ import annotations

from gateway.chains.evm._backend import EvmChain
from gateway.chains.evm._open import (
    TEMPO_MAINNET_CHAIN_ID,
    TEMPO_MAINNET_RPC,
    TEMPO_MAINNET_USDC,
    open_evm_chain,
)

__all__ = [
    "TEMPO_MAINNET_CHAIN_ID",
    "TEMPO_MAINNET_RPC",
    "TEMPO_MAINNET_USDC",
    "EvmChain",
    "open_evm_chain",
]
