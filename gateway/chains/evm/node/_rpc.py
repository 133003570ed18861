"""Ethereum JSON-RPC 2.0 over the node: the methods web3's HTTPProvider uses, plus test helpers.

Beyond the standard ``eth_*``/``net_*``/``web3_*`` methods below, the node answers:

* ``evm_increaseTime(seconds)`` and ``evm_setTime(timestamp)``: move the chain clock (forward
  only); they return the new chain time in seconds (a JSON number). The next block, and every
  ``eth_call``, sees the new time; ``evm_mine()`` mines an empty block so ``latest`` shows it.
* ``bitrouter_fund(address, amount)``: top ``address``'s gas money up to 1 ETH, then mint it
  ``amount`` test USDC base units; returns the mint's transaction hash (the top-up's when
  ``amount`` is 0, null if nothing was sent).
* ``bitrouter_contracts()``: ``{"chain_id", "usdc", "authority", "deployer"}``.

A reverted ``eth_call``/``eth_estimateGas`` answers error code 3 with the revert data, as geth
does, so clients decode custom errors. A reverted transaction is mined with status 0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eth_utils.address import to_canonical_address

from gateway.chains.evm.node._chain import CallRequest, Reverted, TransactionRefused
from gateway.chains.evm.node._node import Node
from gateway.chains.evm.node._serialize import (
    block_json,
    block_logs,
    data,
    quantity,
    receipt_json,
    transaction_json,
)

__all__ = ["RpcDispatcher"]

Json = Any
_TAGS_LATEST = ("latest", "pending", "safe", "finalized")


class RpcError(Exception):
    """A JSON-RPC error reply."""

    def __init__(self, code: int, message: str, error_data: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = error_data


def _int(value: Json) -> int:
    if isinstance(value, int):
        return value
    return int(str(value), 16)


def _bytes(value: Json) -> bytes:
    text = str(value)
    return bytes.fromhex(text[2:] if text.startswith("0x") else text)


def _block(tag: Json) -> int | None:
    if tag is None or tag in _TAGS_LATEST:
        return None
    if tag == "earliest":
        return 0
    return _int(tag)


def _call_request(params: Json) -> CallRequest:
    tx = params[0]
    gas = tx.get("gas")
    return CallRequest(
        sender=to_canonical_address(tx["from"]) if tx.get("from") else b"\x00" * 20,
        to=to_canonical_address(tx["to"]) if tx.get("to") else b"",
        value=_int(tx.get("value", 0)),
        data=_bytes(tx.get("data") or tx.get("input") or "0x"),
        gas=_int(gas) if gas is not None else None,
    )


class RpcDispatcher:
    """Turns one JSON-RPC request object into its response object."""

    def __init__(self, node: Node) -> None:
        self._node = node
        self._methods: dict[str, Callable[[list[Json]], Json]] = {
            "web3_clientVersion": lambda p: "bitrouter-embedded-evm/1 (py-evm)",
            "net_version": lambda p: str(node.state.chain_id),
            "eth_chainId": lambda p: quantity(node.state.chain_id),
            "eth_syncing": lambda p: False,
            "eth_accounts": lambda p: [],
            "eth_blockNumber": lambda p: quantity(node.state.head().block_number),
            "eth_gasPrice": lambda p: quantity(node.state.head().base_fee_per_gas or 0),
            "eth_maxPriorityFeePerGas": lambda p: quantity(0),
            "eth_getBalance": lambda p: quantity(self._account(p)[0]),
            "eth_getTransactionCount": lambda p: quantity(self._account(p)[1]),
            "eth_getCode": lambda p: data(self._account(p)[2]),
            "eth_getStorageAt": self._storage,
            "eth_call": lambda p: data(node.state.call(_call_request(p), node.now())),
            "eth_estimateGas": lambda p: quantity(
                node.state.estimate_gas(_call_request(p), node.now())
            ),
            "eth_sendRawTransaction": lambda p: data(node.send_raw(_bytes(p[0]))),
            "eth_getTransactionReceipt": self._receipt,
            "eth_getTransactionByHash": self._transaction,
            "eth_getBlockByNumber": lambda p: self._block_json(_block(p[0]), bool(p[1])),
            "eth_getBlockByHash": self._block_by_hash,
            "eth_getLogs": self._logs,
            "evm_increaseTime": lambda p: node.increase_time(_int(p[0])),
            "evm_setTime": lambda p: node.set_time(_int(p[0])),
            "evm_mine": lambda p: quantity(node.mine()),
            "bitrouter_fund": self._fund,
            "bitrouter_contracts": lambda p: {"chain_id": node.state.chain_id, **node.contracts},
        }

    def handle(self, request: Json) -> Json:
        """The response to ``request`` (a batch is a list of requests)."""
        if isinstance(request, list):
            return [self._one(item) for item in request]
        return self._one(request)

    def _one(self, request: Json) -> Json:
        request_id = request.get("id") if isinstance(request, dict) else None
        try:
            if not isinstance(request, dict) or not isinstance(request.get("method"), str):
                raise RpcError(-32600, "invalid request")
            method = self._methods.get(request["method"])
            if method is None:
                raise RpcError(-32601, f"method {request['method']} is not supported")
            params = request.get("params") or []
            with self._node.lock:
                result = method(list(params))
            return {"jsonrpc": "2.0", "id": request_id, "result": result}
        except RpcError as exc:
            error: dict[str, Json] = {"code": exc.code, "message": exc.message}
            if exc.data is not None:
                error["data"] = exc.data
            return {"jsonrpc": "2.0", "id": request_id, "error": error}
        except Reverted as exc:
            return {
                "jsonrpc": "2.0",
                "id": request_id,
                "error": {"code": 3, "message": exc.reason, "data": data(exc.data)},
            }
        except TransactionRefused as exc:
            return {
                "jsonrpc": "2.0",
                "id": request_id,
                "error": {"code": -32000, "message": str(exc)},
            }
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            return {
                "jsonrpc": "2.0",
                "id": request_id,
                "error": {"code": -32602, "message": f"invalid params: {exc}"},
            }

    def _account(self, params: list[Json]) -> tuple[int, int, bytes]:
        block = _block(params[1] if len(params) > 1 else None)
        return self._node.state.account(to_canonical_address(params[0]), block)

    def _storage(self, params: list[Json]) -> str:
        block = _block(params[2] if len(params) > 2 else None)
        value = self._node.state.storage(to_canonical_address(params[0]), _int(params[1]), block)
        return data(value.to_bytes(32, "big"))

    def _block_json(self, number: int | None, full: bool) -> Json:
        state = self._node.state
        block = state.block(state.head().block_number if number is None else number)
        return None if block is None else block_json(block, full, state.chain_id)

    def _block_by_hash(self, params: list[Json]) -> Json:
        number = self._node.state.block_number_of_hash(_bytes(params[0]))
        return None if number is None else self._block_json(number, bool(params[1]))

    def _receipt(self, params: list[Json]) -> Json:
        found = self._node.state.locate(_bytes(params[0]))
        if found is None:
            return None
        block, index = found
        return receipt_json(block, self._node.state.receipts(block), index)

    def _transaction(self, params: list[Json]) -> Json:
        found = self._node.state.locate(_bytes(params[0]))
        if found is None:
            return None
        block, index = found
        return transaction_json(block.transactions[index], block, index, self._node.state.chain_id)

    def _logs(self, params: list[Json]) -> Json:
        query = params[0] if params else {}
        state = self._node.state
        head = state.head().block_number
        if query.get("blockHash"):
            number = state.block_number_of_hash(_bytes(query["blockHash"]))
            if number is None:
                raise RpcError(-32000, "unknown block")
            first = last = number
        else:
            from_block, to_block = _block(query.get("fromBlock")), _block(query.get("toBlock"))
            first = head if from_block is None else from_block
            last = head if to_block is None else to_block
        addresses = query.get("address")
        if isinstance(addresses, str):
            addresses = [addresses]
        wanted = {a.lower() for a in addresses} if addresses else None
        topics = query.get("topics") or []
        out = []
        for number in range(first, min(last, head) + 1):
            block = state.block(number)
            if block is None:
                continue
            for log in block_logs(block, state.receipts(block)):
                if wanted is not None and log["address"].lower() not in wanted:
                    continue
                if _topics_match(topics, log["topics"]):
                    out.append(log)
        return out

    def _fund(self, params: list[Json]) -> Json:
        amount = _int(params[1]) if len(params) > 1 else 0
        if amount < 0:
            raise RpcError(-32602, "amount must not be negative")
        tx_hash = self._node.fund(to_canonical_address(params[0]), amount)
        return None if tx_hash is None else data(tx_hash)


def _topics_match(wanted: list[Json], topics: list[str]) -> bool:
    for position, choice in enumerate(wanted):
        if choice is None:
            continue
        if position >= len(topics):
            return False
        options = choice if isinstance(choice, list) else [choice]
        if topics[position].lower() not in {o.lower() for o in options}:
            return False
    return True
