"""The read-only JSON-RPC methods: answered straight from the ledger, no lock, no journal."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import base58
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from spl.token.constants import ACCOUNT_LEN, TOKEN_PROGRAM_ID

from gateway.chains.solana.node._fault import INVALID_PARAMS, RpcFault
from gateway.chains.solana.node._ledger import Ledger
from gateway.chains.solana.node._views import (
    account_json,
    signature_info_json,
    status_json,
    token_amount_json,
    transaction_json,
)

__all__ = ["API_VERSION", "Reads", "decode_wire", "param", "pubkey"]

API_VERSION = "2.2.0"
UNSUPPORTED_VERSION = -32015


def param(params: list[Any], index: int, default: Any = None) -> Any:
    """Positional parameter ``index`` (``default`` when absent or null)."""
    value = params[index] if len(params) > index else None
    return default if value is None else value


def pubkey(value: Any) -> Pubkey:
    """A base58 address parameter."""
    try:
        return Pubkey.from_string(str(value))
    except ValueError as exc:
        raise RpcFault(INVALID_PARAMS, f"Invalid param: {value!r} is not an address") from exc


def _signature(value: Any) -> str:
    try:
        return str(Signature.from_string(str(value)))
    except ValueError as exc:
        raise RpcFault(INVALID_PARAMS, f"Invalid param: {value!r} is not a signature") from exc


class Reads:
    """Read methods over one ledger; each returns the JSON ``result``."""

    def __init__(self, ledger: Ledger, genesis_hash: str) -> None:
        self._ledger = ledger
        self._genesis_hash = genesis_hash

    def methods(self) -> dict[str, Callable[[list[Any]], Any]]:
        """Method name → handler."""
        return {
            "getHealth": lambda _: "ok",
            "getVersion": lambda _: {"solana-core": API_VERSION, "feature-set": 0},
            "getGenesisHash": lambda _: self._genesis_hash,
            "getSlot": lambda _: self._ledger.slot,
            "getBlockHeight": lambda _: self._ledger.block_height,
            "getLatestBlockhash": self._latest_blockhash,
            "isBlockhashValid": self._blockhash_valid,
            "getBalance": self._balance,
            "getAccountInfo": self._account_info,
            "getMultipleAccounts": self._multiple_accounts,
            "getTokenAccountBalance": self._token_balance,
            "getTokenAccountsByOwner": self._token_accounts_by_owner,
            "getMinimumBalanceForRentExemption": self._rent,
            "getSignatureStatuses": self._statuses,
            "getSignaturesForAddress": self._signatures,
            "getTransaction": self._transaction,
        }

    def _context(self, value: Any) -> dict[str, Any]:
        return {"context": {"slot": self._ledger.slot, "apiVersion": API_VERSION}, "value": value}

    def _decimals(self, mint: Pubkey) -> int:
        account = self._ledger.svm.get_account(mint)
        return bytes(account.data)[44] if account is not None and len(account.data) > 44 else 0

    def _account(self, address: Any, config: dict[str, Any]) -> dict[str, Any] | None:
        account = self._ledger.svm.get_account(pubkey(address))
        if account is not None and account.lamports == 0:
            account = None
        encoding = config.get("encoding", "base64")
        return account_json(account, encoding, config.get("dataSlice"), self._decimals)

    def _latest_blockhash(self, _: list[Any]) -> Any:
        value = {
            "blockhash": self._ledger.latest_blockhash,
            "lastValidBlockHeight": self._ledger.block_height + 150,
        }
        return self._context(value)

    def _blockhash_valid(self, params: list[Any]) -> Any:
        return self._context(self._ledger.is_recent(str(param(params, 0, ""))))

    def _balance(self, params: list[Any]) -> Any:
        return self._context(self._ledger.svm.get_balance(pubkey(param(params, 0))) or 0)

    def _account_info(self, params: list[Any]) -> Any:
        return self._context(self._account(param(params, 0), param(params, 1, {})))

    def _multiple_accounts(self, params: list[Any]) -> Any:
        config = param(params, 1, {})
        return self._context([self._account(key, config) for key in param(params, 0, [])])

    def _token_balance(self, params: list[Any]) -> Any:
        account = self._ledger.svm.get_account(pubkey(param(params, 0)))
        if account is None or account.lamports == 0:
            raise RpcFault(INVALID_PARAMS, "Invalid param: could not find account")
        data = bytes(account.data)
        if account.owner != TOKEN_PROGRAM_ID or len(data) != ACCOUNT_LEN:
            raise RpcFault(INVALID_PARAMS, "Invalid param: not a Token account")
        decimals = self._decimals(Pubkey.from_bytes(data[0:32]))
        return self._context(token_amount_json(int.from_bytes(data[64:72], "little"), decimals))

    def _token_accounts_by_owner(self, params: list[Any]) -> Any:
        owner = bytes(pubkey(param(params, 0)))
        selector = param(params, 1, {})
        mint = bytes(pubkey(selector["mint"])) if "mint" in selector else None
        if "programId" in selector and pubkey(selector["programId"]) != TOKEN_PROGRAM_ID:
            return self._context([])
        config = param(params, 2, {})
        found = []
        for address, account in self._ledger.svm.get_program_accounts(TOKEN_PROGRAM_ID):
            data = bytes(account.data)
            if len(data) != ACCOUNT_LEN or data[32:64] != owner:
                continue
            if mint is not None and data[0:32] != mint:
                continue
            view = account_json(
                account, config.get("encoding", "base64"), config.get("dataSlice"), self._decimals
            )
            found.append({"pubkey": str(address), "account": view})
        return self._context(found)

    def _rent(self, params: list[Any]) -> Any:
        return self._ledger.svm.minimum_balance_for_rent_exemption(int(param(params, 0, 0)))

    def _statuses(self, params: list[Any]) -> Any:
        history = self._ledger.history
        records = [history.get(_signature(sig)) for sig in param(params, 0, [])]
        return self._context([status_json(record) for record in records])

    def _signatures(self, params: list[Any]) -> Any:
        address = str(pubkey(param(params, 0)))
        config = param(params, 1, {})
        limit = int(config.get("limit") or 1000)
        if not 1 <= limit <= 1000:
            raise RpcFault(INVALID_PARAMS, "Invalid limit; max 1000")
        before = _signature(config["before"]) if config.get("before") else None
        until = _signature(config["until"]) if config.get("until") else None
        records = self._ledger.history.for_address(address, before=before, until=until, limit=limit)
        return [signature_info_json(record) for record in records]

    def _transaction(self, params: list[Any]) -> Any:
        record = self._ledger.history.get(_signature(param(params, 0)))
        config = param(params, 1, {})
        if isinstance(config, str):  # the deprecated positional encoding form
            config = {"encoding": config}
        if record is None:
            return None
        version = config.get("maxSupportedTransactionVersion")
        if isinstance(record.tx.message, MessageV0) and version is None:
            raise RpcFault(
                UNSUPPORTED_VERSION,
                "Transaction version (0) is not supported by the requesting client. Please try "
                "the request again with the following configuration parameter: "
                '"maxSupportedTransactionVersion": 0',
            )
        return transaction_json(record, config.get("encoding", "json"))


def decode_wire(value: Any, encoding: str) -> bytes:
    """A transaction parameter (base64 or base58) as bytes."""
    try:
        if encoding == "base58":
            return bytes(base58.b58decode(str(value)))
        return base64.b64decode(str(value), validate=True)
    except ValueError as exc:
        raise RpcFault(INVALID_PARAMS, f"invalid transaction encoding: {exc}") from exc
