"""The embedded EVM node: Ethereum JSON-RPC over HTTP on loopback, backed by eth-tester + py-evm.

Run as ``python -m gateway.chains.evm.node --state-dir DIR --idle-seconds S`` (normally through
``gateway.chains._daemon.ensure_node``). Its state survives restarts through an append-only
journal replayed on start (see ``_journal`` and ``specs/onchain.md``).
"""

from __future__ import annotations

from gateway.chains.evm.node._node import DEPLOYER_KEY, Node

__all__ = ["DEPLOYER_KEY", "Node"]
