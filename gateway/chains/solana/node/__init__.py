"""The embedded Solana node: LiteSVM behind Solana JSON-RPC on loopback, journaled to disk.

Run as ``python -m gateway.chains.solana.node --state-dir DIR --idle-seconds S``; the gateway
starts it through ``gateway.chains._daemon.ensure_node``. On its first start it creates the test
USDC mint and deploys the spending-caps program. Beyond the standard methods it answers
``bitrouter_getConfig`` (mint and program addresses), ``bitrouter_fundUsdc(owner, amount)``,
``bitrouter_setClock(unix)`` and ``bitrouter_advanceClock(seconds)``.
"""

from gateway.chains.solana.node._rpc import Node
from gateway.chains.solana.node._server import run_node

__all__ = ["Node", "run_node"]
