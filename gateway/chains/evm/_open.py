"""``open_evm_chain``: build the Tempo backend from settings (embedded node, any RPC, mainnet)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import trio

from gateway.chains._daemon import ensure_node, node_dir
from gateway.chains.evm._backend import EvmChain
from gateway.errors import ChainError, ConfigError
from gateway.settings import Settings

__all__ = [
    "NODE_MODULE",
    "NODE_NAME",
    "TEMPO_MAINNET_CHAIN_ID",
    "TEMPO_MAINNET_RPC",
    "TEMPO_MAINNET_USDC",
    "open_evm_chain",
]

NODE_NAME = "tempo"
NODE_MODULE = "gateway.chains.evm.node"
TEMPO_MAINNET_CHAIN_ID = 4217
TEMPO_MAINNET_RPC = "https://rpc.tempo.xyz"
TEMPO_MAINNET_USDC = "0x20C000000000000000000000b9537d11c60E8b50"


def _embedded_contracts(home: Path) -> tuple[str, str]:
    path = node_dir(home, NODE_NAME) / "contracts.json"
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return str(info["usdc"]), str(info["authority"])
    except (OSError, ValueError, KeyError) as exc:
        raise ChainError(f"the embedded tempo node wrote no usable {path}") from exc


async def open_evm_chain(settings: Settings) -> EvmChain:
    """The backend for ``settings.chains.tempo``, connected and checked.

    embedded: starts (or finds) the node under the home, contracts from its state folder.
    rpc: ``rpc_url``, ``usdc`` and ``authority_program`` (the SpendingAuthority address) are
    required; a Tempo-mainnet endpoint is refused here (use mode ``mainnet``).
    mainnet: Tempo (chain id 4217); ``rpc_url`` and ``usdc`` default to Tempo's, and
    ``authority_program`` is required.
    """
    section = settings.chains.tempo
    if section.mode == "embedded":
        return await _open_embedded(settings.home)
    if section.mode == "rpc":
        url, usdc = section.rpc_url, section.usdc
    else:
        url = section.rpc_url or TEMPO_MAINNET_RPC
        usdc = section.usdc or TEMPO_MAINNET_USDC
    if not url or not usdc or not section.authority_program:
        missing = "chains.tempo.usdc" if not usdc else "chains.tempo.authority_program"
        raise ConfigError(f"{missing} is required in tempo mode {section.mode!r}")
    chain = EvmChain(url, usdc, section.authority_program)
    try:
        await _check(chain, section.mode)
    except BaseException:
        chain.close()
        raise
    return chain


async def _open_embedded(home: Path) -> EvmChain:
    start = functools.partial(ensure_node, home, NODE_NAME, NODE_MODULE)
    url = await trio.to_thread.run_sync(start)
    usdc, authority = _embedded_contracts(home)
    # Blocks are mined as transactions arrive, so receipts are there at the first poll.
    return EvmChain(url, usdc, authority, embedded=True, reconnect=start, poll_seconds=0.02)


async def _check(chain: EvmChain, mode: str) -> None:
    chain_id = await chain.chain_id()
    if mode == "mainnet" and chain_id != TEMPO_MAINNET_CHAIN_ID:
        raise ConfigError(
            f"{chain.rpc_url} is chain {chain_id}, not Tempo mainnet ({TEMPO_MAINNET_CHAIN_ID})"
        )
    if mode == "rpc" and chain_id == TEMPO_MAINNET_CHAIN_ID:
        raise ConfigError(
            f"{chain.rpc_url} is Tempo mainnet: set chains.tempo.mode to "
            "'mainnet' with confirm_mainnet: true"
        )
    if not await chain.code_at(chain.authority_address):
        raise ConfigError(
            f"no contract at chains.tempo.authority_program "
            f"({chain.authority_address}) on chain {chain_id}"
        )
