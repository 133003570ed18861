"""The node's JSON-RPC surface: dispatch, the state-changing methods, and start-up replay.

State-changing calls (``sendTransaction``, ``requestAirdrop`` and the ``bitrouter_*`` faucet and
clock methods) are checked, journaled and applied in one synchronous step — trio runs nothing
else in between, so the journal's order is the order the chain saw — and answered only once the
journal is fsynced (one fsync serves every call waiting on it). If the journal cannot be
written the node stops: its memory would be ahead of its disk.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import trio
from solders.hash import Hash
from solders.transaction import VersionedTransaction
from spl.token.constants import MINT_LEN

from gateway.chains.solana.node._deployer import deploy_caps_program
from gateway.chains.solana.node._faucet import USDC_DECIMALS, Faucet
from gateway.chains.solana.node._fault import INVALID_PARAMS, RpcFault, preflight_fault
from gateway.chains.solana.node._journal import Journal
from gateway.chains.solana.node._ledger import Ledger, Rejected
from gateway.chains.solana.node._reads import Reads, decode_wire, param, pubkey

__all__ = ["Node"]

MAX_U64 = 2**64 - 1
MAX_AIRDROP = 10**15


def _amount(value: Any, name: str, maximum: int = MAX_U64) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= maximum:
        raise RpcFault(INVALID_PARAMS, f"Invalid param: {name} must be an integer in 1..{maximum}")
    return value


class Node:
    """One embedded Solana chain: ledger, faucet, journal and the JSON-RPC methods."""

    def __init__(self, state_dir: Path) -> None:
        self._faucet = Faucet.load_or_create(state_dir)
        self._journal = Journal(state_dir / "journal.jsonl")
        self._ledger = Ledger(self._faucet.authority.pubkey())
        digest = hashlib.sha256(b"bitrouter-embedded-solana" + bytes(self._faucet.usdc_mint))
        self._reads = Reads(self._ledger, str(Hash(digest.digest())))
        self.failed = trio.Event()
        self._methods: dict[str, Callable[[list[Any]], Any]] = self._reads.methods()
        self._writes: dict[str, Callable[[list[Any]], Any]] = {
            "sendTransaction": self._send_transaction,
            "requestAirdrop": self._request_airdrop,
            "bitrouter_fundUsdc": self._fund_usdc,
            "bitrouter_setClock": self._set_clock,
            "bitrouter_advanceClock": self._advance_clock,
        }
        self._methods["simulateTransaction"] = self._simulate
        self._methods["bitrouter_getConfig"] = self._config
        self._faucet.write_config(state_dir)

    async def start(self) -> None:
        """Replay the journal, then create the USDC mint and deploy the spending-caps program
        on first start."""
        for entry in self._journal.read():
            if entry["k"] == "clock":
                self._ledger.apply_clock(int(entry["t"]), int(entry["o"]))
            else:
                tx = VersionedTransaction.from_bytes(base64.b64decode(entry["b"]))
                self._ledger.execute(tx, int(entry["t"]))
        self._journal.open()
        self._ledger.refresh_clock()
        if self._ledger.svm.get_account(self._faucet.usdc_mint) is None:
            rent = self._ledger.svm.minimum_balance_for_rent_exemption(MINT_LEN)
            await self._land(self._faucet.create_mint(self._ledger.latest_blockhash, rent))
        await deploy_caps_program(self._ledger, self._faucet, self._land)

    def close(self) -> None:
        """Close the journal."""
        self._journal.close()

    async def handle(self, body: bytes) -> bytes:
        """Answer one JSON-RPC request body (a single call or a batch)."""
        try:
            request = orjson.loads(body)
        except orjson.JSONDecodeError:
            return orjson.dumps(_error(None, RpcFault(-32700, "Parse error")))
        if isinstance(request, list):
            if not request:
                return orjson.dumps(_error(None, RpcFault(-32600, "Invalid request")))
            return orjson.dumps([await self._call(item) for item in request])
        return orjson.dumps(await self._call(request))

    async def _call(self, request: Any) -> dict[str, Any]:
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            return _error(None, RpcFault(-32600, "Invalid request"))
        ident = request.get("id")
        method = request["method"]
        params = request.get("params") or []
        if not isinstance(params, list):
            return _error(ident, RpcFault(INVALID_PARAMS, "params must be an array"))
        try:
            if self.failed.is_set():
                raise RpcFault(-32603, "the node could not write its journal and is stopping")
            if method in self._writes:
                result = await self._writes[method](params)
            elif method in self._methods:
                self._ledger.refresh_clock()
                result = self._methods[method](params)
            else:
                raise RpcFault(-32601, "Method not found")
        except RpcFault as fault:
            return _error(ident, fault)
        except (KeyError, TypeError, ValueError) as exc:
            return _error(ident, RpcFault(INVALID_PARAMS, f"Invalid params: {exc}"))
        return {"jsonrpc": "2.0", "id": ident, "result": result}

    # -- writes ------------------------------------------------------------------------------

    def _journal_write(self, entry: dict[str, Any]) -> int:
        try:
            return self._journal.write(entry)
        except OSError as exc:
            self.failed.set()
            raise RpcFault(-32603, "the node could not write its journal and is stopping") from exc

    async def _durable(self, sequence: int) -> None:
        try:
            await self._journal.durable(sequence)
        except OSError as exc:
            self.failed.set()
            raise RpcFault(-32603, "the node could not write its journal and is stopping") from exc

    async def _land(self, tx: VersionedTransaction, *, preflight: bool = True) -> str:
        """Simulate (unless skipped), journal and execute ``tx``; answer once it is durable."""
        if preflight:
            simulation = self._ledger.simulate(tx)
            if simulation.err is not None:
                raise preflight_fault(simulation.err, simulation.logs, simulation.units)
        unix = self._ledger.now()
        entry = {"k": "tx", "t": unix, "b": base64.b64encode(bytes(tx)).decode()}
        sequence = self._journal_write(entry)
        outcome = self._ledger.execute(tx, unix)
        await self._durable(sequence)
        if isinstance(outcome, Rejected):
            raise preflight_fault(outcome.err, [], 0)
        return outcome.signature

    async def _send_transaction(self, params: list[Any]) -> str:
        config = param(params, 1, {})
        raw = decode_wire(param(params, 0, ""), config.get("encoding", "base58"))
        tx = self._ledger.check(raw)
        return await self._land(tx, preflight=not config.get("skipPreflight", False))

    async def _request_airdrop(self, params: list[Any]) -> str:
        to = pubkey(param(params, 0))
        lamports = _amount(param(params, 1), "lamports", MAX_AIRDROP)
        return await self._land(self._faucet.airdrop(to, lamports, self._ledger.latest_blockhash))

    async def _fund_usdc(self, params: list[Any]) -> str:
        owner = pubkey(param(params, 0))
        amount = _amount(param(params, 1), "amount")
        tx = self._faucet.mint_usdc(owner, amount, self._ledger.latest_blockhash)
        return await self._land(tx)

    async def _move_clock(self, target: int) -> int:
        unix, offset = self._ledger.plan_clock(target)
        sequence = self._journal_write({"k": "clock", "t": unix, "o": offset})
        self._ledger.apply_clock(unix, offset)
        await self._durable(sequence)
        return unix

    async def _set_clock(self, params: list[Any]) -> int:
        return await self._move_clock(_amount(param(params, 0), "unix_time", 2**62))

    async def _advance_clock(self, params: list[Any]) -> int:
        seconds = param(params, 0)
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
            raise RpcFault(INVALID_PARAMS, "Invalid param: seconds must be a non-negative integer")
        return await self._move_clock(self._ledger.now() + seconds)

    def _simulate(self, params: list[Any]) -> Any:
        config = param(params, 1, {})
        tx = VersionedTransaction.from_bytes(
            decode_wire(param(params, 0, ""), config.get("encoding", "base58"))
        )
        simulation = self._ledger.simulate(tx, sig_verify=bool(config.get("sigVerify", False)))
        value = {
            "err": simulation.err,
            "logs": simulation.logs,
            "accounts": None,
            "unitsConsumed": simulation.units,
            "returnData": None,
        }
        return {"context": {"slot": self._ledger.slot}, "value": value}

    def _config(self, _: list[Any]) -> Any:
        return {
            "usdc_mint": str(self._faucet.usdc_mint),
            "usdc_decimals": USDC_DECIMALS,
            "mint_authority": str(self._faucet.authority.pubkey()),
            "caps_program": str(self._faucet.caps_program),
            "unix_time": self._ledger.now(),
            "slot": self._ledger.slot,
        }


def _error(ident: Any, fault: RpcFault) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": ident, "error": fault.to_json()}
