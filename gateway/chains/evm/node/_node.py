"""The embedded EVM node's state: the chain, its journal, its clock, its faucet.

Every state change goes through here and is journaled (fsynced) before it is acknowledged; on
start the journal is replayed, so a restarted node has every balance and authority it had.
On first start the node deploys the test USDC and the SpendingAuthority contract from a fixed,
publicly known deployer key (this chain never holds real money) and records their addresses in
``contracts.json``.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eth._utils.address import generate_contract_address
from eth_abi.abi import encode
from eth_account import Account
from eth_utils.address import to_canonical_address, to_checksum_address
from eth_utils.crypto import keccak

from gateway.chains.evm._artifacts import ContractName, load_artifact
from gateway.chains.evm.node._chain import EvmState, TransactionRefused
from gateway.chains.evm.node._journal import Journal, JournalCorrupt

__all__ = ["DEPLOYER_KEY", "Node"]

# A well-known test key: the embedded chain's deployer, USDC minter and gas faucet.
DEPLOYER_KEY = keccak(b"bitrouter embedded evm deployer")
_DEPLOYER_WEI = 10**30
_GAS_TOP_UP_WEI = 10**18
_JOURNAL_VERSION = 1


class Node:
    """The chain plus everything that makes it durable; callers hold ``lock`` around each call."""

    def __init__(self, state_dir: Path, wall_clock: Callable[[], float] = time.time) -> None:
        self.lock = threading.Lock()
        self._state_dir = state_dir
        self._wall = wall_clock
        self._journal = Journal(state_dir / "journal.jsonl")
        self._deployer = Account.from_key(DEPLOYER_KEY)
        self._offset = 0
        entries = self._journal.entries
        if entries:
            genesis = entries[0]
            if genesis.get("op") != "genesis" or genesis.get("version") != _JOURNAL_VERSION:
                raise JournalCorrupt(f"{state_dir / 'journal.jsonl'} has no known genesis entry")
        else:
            genesis = {"op": "genesis", "version": _JOURNAL_VERSION, "timestamp": int(self._wall())}
            self._record(genesis)
        self.state = EvmState(
            int(genesis["timestamp"]),
            {to_canonical_address(self._deployer.address): _DEPLOYER_WEI},
        )
        for number, entry in enumerate(entries[1:], start=2):
            try:
                self._replay(entry)
            except (TransactionRefused, KeyError, ValueError) as exc:
                raise JournalCorrupt(f"journal line {number} does not replay: {exc}") from exc
        self.contracts = self._contracts()
        self._write_contracts_file()

    # Clock ---------------------------------------------------------------------------------

    def now(self) -> int:
        """The chain's current time: wall clock plus the moved offset, after the last block."""
        return max(int(self._wall()) + self._offset, self.state.head().timestamp + 1)

    def increase_time(self, seconds: int) -> int:
        """Move the clock forward by ``seconds``; the new chain time."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._set_offset(self._offset + seconds)
        return self.now()

    def set_time(self, timestamp: int) -> int:
        """Set the clock to ``timestamp`` (never before the latest block); the new chain time."""
        self._set_offset(timestamp - int(self._wall()))
        return self.now()

    def _set_offset(self, offset: int) -> None:
        self._record({"op": "clock", "offset": offset})
        self._offset = offset

    # State changes -------------------------------------------------------------------------

    def send_raw(self, raw: bytes) -> bytes:
        """Execute a signed transaction in its own block; journaled once mined."""
        timestamp = self.now()
        tx_hash = self.state.apply(raw, timestamp)
        self._record({"op": "tx", "ts": timestamp, "raw": raw.hex()})
        return tx_hash

    def mine(self) -> int:
        """Mine an empty block now (so that ``latest`` shows a moved clock); its number."""
        timestamp = self.now()
        self.state.mine(timestamp)
        self._record({"op": "mine", "ts": timestamp})
        return int(self.state.head().block_number)

    def fund(self, address: bytes, amount: int) -> bytes | None:
        """Top up ``address``'s gas money to 1 ETH and mint it ``amount`` test USDC.

        Returns the mint's transaction hash (the top-up's if nothing was minted, None if
        nothing was sent).
        """
        sent: bytes | None = None
        balance, _, _ = self.state.account(address, None)
        if balance < _GAS_TOP_UP_WEI:
            sent = self._deployer_send(address, b"", value=_GAS_TOP_UP_WEI - balance)
        if amount > 0:
            call = keccak(b"mint(address,uint256)")[:4] + encode(
                ["address", "uint256"], [to_checksum_address(address), amount]
            )
            sent = self._deployer_send(to_canonical_address(self.contracts["usdc"]), call)
        return sent

    def _deployer_send(self, to: bytes, data: bytes, value: int = 0) -> bytes:
        _, nonce, _ = self.state.account(to_canonical_address(self._deployer.address), None)
        tx: dict[str, Any] = {
            "type": 2,
            "chainId": self.state.chain_id,
            "nonce": nonce,
            "gas": 5_000_000 if not to else 200_000,
            "maxFeePerGas": 0,
            "maxPriorityFeePerGas": 0,
            "value": value,
            "data": data,
        }
        if to:
            tx["to"] = to_checksum_address(to)
        signed = Account.sign_transaction(tx, DEPLOYER_KEY)
        return self.send_raw(bytes(signed.raw_transaction))

    def _record(self, entry: dict[str, Any]) -> None:
        try:
            self._journal.append(entry)
        except OSError as exc:
            # The change is in memory but not on disk. Acknowledging it would let a restart
            # lose it, so the node dies unacknowledged; a restart replays what is on disk.
            print(
                f"error: the embedded EVM node cannot write its journal: {exc}",
                file=sys.stderr,
                flush=True,
            )
            os._exit(74)

    def _replay(self, entry: dict[str, Any]) -> None:
        op = entry.get("op")
        if op == "tx":
            self.state.apply(bytes.fromhex(entry["raw"]), int(entry["ts"]))
        elif op == "mine":
            self.state.mine(int(entry["ts"]))
        elif op == "clock":
            self._offset = int(entry["offset"])
        else:
            raise JournalCorrupt(f"unknown journal entry {op!r}")

    # Contracts -----------------------------------------------------------------------------

    def _contracts(self) -> dict[str, str]:
        deployer = to_canonical_address(self._deployer.address)
        deployments: tuple[tuple[str, ContractName], ...] = (
            ("usdc", "TestUSDC"),
            ("authority", "SpendingAuthority"),
        )
        addresses: dict[str, str] = {}
        # The deployer's first two transactions create the contracts, so their addresses are
        # fixed; deploying only what is missing also completes a start interrupted half-way.
        for nonce, (key, contract) in enumerate(deployments):
            address = generate_contract_address(deployer, nonce)
            _, _, code = self.state.account(address, None)
            if not code:
                self._deployer_send(b"", load_artifact(contract).bytecode)
            addresses[key] = to_checksum_address(address)
        return {**addresses, "deployer": self._deployer.address}

    def _write_contracts_file(self) -> None:
        info = {"chain_id": self.state.chain_id, **self.contracts}
        tmp = self._state_dir / "contracts.json.tmp"
        tmp.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self._state_dir / "contracts.json")

    def close(self) -> None:
        """Close the journal (every entry is already on disk)."""
        self._journal.close()
