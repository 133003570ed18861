"""Blocking access to one EVM JSON-RPC endpoint through web3's standard sync HTTPProvider.

Everything here blocks; ``EvmChain`` calls it from worker threads. web3's async provider is not
used because it needs asyncio and the gateway runs on trio.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

import requests
from eth_account import Account
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import (
    ContractCustomError,
    ContractLogicError,
    TimeExhausted,
    Web3Exception,
    Web3RPCError,
)
from web3.types import TxParams, TxReceipt, Wei

from gateway.chains.evm._refusals import RevertDecoder, refused
from gateway.errors import ChainError

__all__ = ["RpcClient", "contract"]

T = TypeVar("T")

# Gas is estimated, then padded: the estimate is exact for the state it ran on, and a block
# may change that state a little before the transaction lands.
_GAS_PAD_NUMERATOR = 5
_GAS_PAD_DENOMINATOR = 4
_GAS_PAD_EXTRA = 10_000


class RpcClient:
    """One endpoint plus the decoder of our contracts' errors; reconnects embedded nodes."""

    def __init__(
        self,
        url: str,
        decoder: RevertDecoder,
        *,
        reconnect: Callable[[], str] | None = None,
        timeout: float = 30.0,
        receipt_timeout: float = 60.0,
        poll_seconds: float = 0.2,
    ) -> None:
        self._decoder = decoder
        self._reconnect = reconnect
        self._timeout = timeout
        self._receipt_timeout = receipt_timeout
        self._poll = poll_seconds
        self._swap = threading.Lock()
        self._session = requests.Session()
        self.w3 = self._connect(url)

    def _connect(self, url: str) -> Web3:
        options: dict[str, Any] = {}
        if self._reconnect is not None:
            # An embedded node that exited on idle is restarted at once, not retried with backoff.
            options["exception_retry_configuration"] = None
        provider = Web3.HTTPProvider(
            url, request_kwargs={"timeout": self._timeout}, session=self._session, **options
        )
        return Web3(provider)

    @property
    def url(self) -> str:
        """The endpoint in use."""
        return str(cast(Any, self.w3.provider).endpoint_uri)

    def close(self) -> None:
        """Close the HTTP connections."""
        self._session.close()

    def run(self, what: str, fn: Callable[[Web3], T]) -> T:
        """``fn(w3)``; an unreachable embedded node is restarted once, else a ChainError."""
        try:
            return fn(self.w3)
        except requests.ConnectionError as exc:
            if self._reconnect is None:
                raise self._unreachable(what) from exc
            with self._swap:
                self.w3 = self._connect(self._reconnect())
            try:
                return fn(self.w3)
            except requests.ConnectionError as again:
                raise self._unreachable(what) from again
        except requests.RequestException as exc:
            raise self._unreachable(what) from exc

    def _unreachable(self, what: str) -> ChainError:
        return ChainError(
            f"cannot {what}: the tempo RPC at {self.url} is unreachable", code="chain_unreachable"
        )

    def read(self, what: str, fn: Callable[[Web3], T]) -> T:
        """A read-only call; contract reverts and RPC errors become ChainError."""
        return self.run(what, lambda w3: self._guarded(what, lambda: fn(w3)))

    def _guarded(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except ContractCustomError as exc:
            raise self._decoder.error(what, _revert_bytes(exc.data)) from exc
        except ContractLogicError as exc:
            data = exc.data if isinstance(exc.data, str) else None
            if data:
                raise self._decoder.error(what, _revert_bytes(data)) from exc
            raise refused(what, exc.message or "execution reverted") from exc
        except Web3RPCError as exc:
            raise refused(what, _rpc_message(exc)) from exc
        except Web3Exception as exc:
            raise ChainError(f"tempo could not {what}: {exc}") from exc

    def transact(
        self, what: str, secret: bytes, build: Callable[[Web3], ContractFunction]
    ) -> TxReceipt:
        """Sign ``build(w3)`` with ``secret``, send it and wait for its receipt (status 1)."""
        return self.run(
            what, lambda w3: self._guarded(what, lambda: self._send(w3, what, secret, build(w3)))
        )

    def _send(self, w3: Web3, what: str, secret: bytes, call: ContractFunction) -> TxReceipt:
        account = Account.from_key(secret)
        params: TxParams = {"from": account.address}
        # The estimate executes the call: a refusal surfaces here, decoded, before any send.
        gas = call.estimate_gas(params)
        latest = w3.eth.get_block("latest")
        base_fee = int(latest.get("baseFeePerGas", 0) or 0)
        tip = int(w3.eth.max_priority_fee)
        fields: TxParams = {
            "from": account.address,
            "chainId": w3.eth.chain_id,
            "nonce": w3.eth.get_transaction_count(account.address, "pending"),
            "gas": gas * _GAS_PAD_NUMERATOR // _GAS_PAD_DENOMINATOR + _GAS_PAD_EXTRA,
            "maxFeePerGas": Wei(2 * base_fee + tip),
            "maxPriorityFeePerGas": Wei(tip),
        }
        tx = call.build_transaction(fields)
        signed = account.sign_transaction(tx)
        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
        try:
            receipt = w3.eth.wait_for_transaction_receipt(
                tx_hash, timeout=self._receipt_timeout, poll_latency=self._poll
            )
        except TimeExhausted as exc:
            raise ChainError(
                f"tempo did not confirm the {what} ({tx_hash.to_0x_hex()}) in "
                f"{self._receipt_timeout:.0f}s",
                code="chain_timeout",
            ) from exc
        if receipt["status"] != 1:
            # Mined but reverted (the state moved since the estimate): replay it for the reason.
            call.call(params)
            raise refused(what, f"transaction {tx_hash.to_0x_hex()} reverted on-chain")
        return receipt


def _revert_bytes(data: Any) -> bytes:
    text = str(data)
    try:
        return bytes.fromhex(text[2:] if text.startswith("0x") else text)
    except ValueError:
        return b""


def _rpc_message(exc: Web3RPCError) -> str:
    response = exc.rpc_response or {}
    error = response.get("error") if isinstance(response, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    return str(exc.message)


def contract(w3: Web3, address: str, abi: list[dict[str, Any]]) -> Contract:
    """A contract handle bound to ``w3``."""
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=abi)
