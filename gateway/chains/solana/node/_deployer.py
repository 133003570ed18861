"""Deploying the spending-caps program into the embedded chain, once, at its first start.

The deployment is what a real cluster sees: the BPF upgradeable loader's own instructions
(``gateway.chains.solana.program.deploy_program``), paid for and signed by the node's key, at
the program address kept in ``node-keys.json``. Its transactions land through the node's usual
path, so they are journaled and replayed like any other and the program survives restarts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from solders.hash import Hash
from solders.signature import Signature
from solders.transaction import Transaction, VersionedTransaction

from gateway.chains.solana.node._faucet import Faucet
from gateway.chains.solana.node._ledger import Ledger

__all__ = ["deploy_caps_program"]

Land = Callable[[VersionedTransaction], Awaitable[str]]


class _NodeDeployRpc:
    """``DeployRpc`` onto the node's own ledger and landing path."""

    def __init__(self, ledger: Ledger, land: Land) -> None:
        self._ledger = ledger
        self._land = land

    async def latest_blockhash(self) -> Hash:
        return Hash.from_string(self._ledger.latest_blockhash)

    async def minimum_balance(self, size: int) -> int:
        return int(self._ledger.svm.minimum_balance_for_rent_exemption(size))

    async def send(self, tx: Transaction) -> Signature:
        # A legacy transaction's wire bytes are a valid (legacy-message) versioned transaction.
        return Signature.from_string(await self._land(VersionedTransaction.from_bytes(bytes(tx))))


async def deploy_caps_program(ledger: Ledger, faucet: Faucet, land: Land) -> None:
    """Deploy the program at ``faucet.caps_program`` unless the chain already has it."""
    if ledger.svm.get_account(faucet.caps_program) is not None:
        return
    # Imported here: only a first start needs it, and it pulls in solana-py's RPC client.
    from gateway.chains.solana.program import deploy_program, program_binary

    rpc = _NodeDeployRpc(ledger, land)
    await deploy_program(rpc, faucet.authority, faucet.program, program_binary())
