"""The JSON shapes of Solana RPC results: accounts, transactions, signatures, statuses."""

from __future__ import annotations

import base64
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import base58
from solders.account import Account
from solders.message import MessageV0
from solders.pubkey import Pubkey
from spl.token.constants import ACCOUNT_LEN, MINT_LEN, TOKEN_PROGRAM_ID

from gateway.chains.solana.node._fault import INVALID_PARAMS, RpcFault
from gateway.chains.solana.node._history import TxRecord

__all__ = [
    "account_json",
    "signature_info_json",
    "status_json",
    "token_amount_json",
    "transaction_json",
]


def _encode(data: bytes, encoding: str) -> Any:
    if encoding == "base58":
        return [base58.b58encode(data).decode(), "base58"]
    if encoding in ("base64", "jsonParsed"):
        return [base64.b64encode(data).decode(), "base64"]
    raise RpcFault(INVALID_PARAMS, f"unsupported encoding: {encoding}")


def token_amount_json(amount: int, decimals: int) -> dict[str, Any]:
    """``{amount, decimals, uiAmount, uiAmountString}``."""
    ui = Decimal(amount).scaleb(-decimals)
    text = format(ui.normalize(), "f") if amount else "0"
    return {
        "amount": str(amount),
        "decimals": decimals,
        "uiAmount": float(ui),
        "uiAmountString": text,
    }


def _option_key(data: bytes, at: int) -> str | None:
    return str(Pubkey.from_bytes(data[at + 4 : at + 36])) if data[at] else None


def _parsed_token(data: bytes, decimals_of: Callable[[Pubkey], int]) -> dict[str, Any] | None:
    if len(data) == MINT_LEN:
        info: dict[str, Any] = {
            "mintAuthority": _option_key(data, 0),
            "supply": str(int.from_bytes(data[36:44], "little")),
            "decimals": data[44],
            "isInitialized": bool(data[45]),
            "freezeAuthority": _option_key(data, 46),
        }
        return {"type": "mint", "info": info}
    if len(data) == ACCOUNT_LEN and data[108]:
        mint = Pubkey.from_bytes(data[0:32])
        decimals = decimals_of(mint)
        info = {
            "mint": str(mint),
            "owner": str(Pubkey.from_bytes(data[32:64])),
            "tokenAmount": token_amount_json(int.from_bytes(data[64:72], "little"), decimals),
            "state": "frozen" if data[108] == 2 else "initialized",
            "isNative": bool(data[109]),
        }
        delegate = _option_key(data, 72)
        if delegate is not None:
            info["delegate"] = delegate
            delegated = int.from_bytes(data[121:129], "little")
            info["delegatedAmount"] = token_amount_json(delegated, decimals)
        return {"type": "account", "info": info}
    return None


def account_json(
    account: Account | None,
    encoding: str,
    data_slice: dict[str, int] | None = None,
    decimals_of: Callable[[Pubkey], int] | None = None,
) -> dict[str, Any] | None:
    """An account as ``getAccountInfo`` returns it (``jsonParsed`` for SPL Token accounts)."""
    if account is None:
        return None
    data = bytes(account.data)
    value: dict[str, Any] = {
        "lamports": account.lamports,
        "owner": str(account.owner),
        "executable": account.executable,
        "rentEpoch": account.rent_epoch,
        "space": len(data),
    }
    parsed = None
    if encoding == "jsonParsed" and account.owner == TOKEN_PROGRAM_ID and decimals_of is not None:
        parsed = _parsed_token(data, decimals_of)
    if parsed is not None:
        value["data"] = {"program": "spl-token", "parsed": parsed, "space": len(data)}
        return value
    if data_slice is not None:
        start = int(data_slice.get("offset", 0))
        data = data[start : start + int(data_slice.get("length", 0))]
    value["data"] = _encode(data, encoding)
    return value


def _message_json(record: TxRecord) -> dict[str, Any]:
    message = record.tx.message
    header = message.header
    result: dict[str, Any] = {
        "header": {
            "numRequiredSignatures": header.num_required_signatures,
            "numReadonlySignedAccounts": header.num_readonly_signed_accounts,
            "numReadonlyUnsignedAccounts": header.num_readonly_unsigned_accounts,
        },
        "accountKeys": [str(key) for key in message.account_keys],
        "recentBlockhash": str(message.recent_blockhash),
        "instructions": [
            {
                "programIdIndex": ix.program_id_index,
                "accounts": list(ix.accounts),
                "data": base58.b58encode(bytes(ix.data)).decode(),
                "stackHeight": None,
            }
            for ix in message.instructions
        ],
    }
    if isinstance(message, MessageV0):
        result["addressTableLookups"] = [
            {
                "accountKey": str(lookup.account_key),
                "writableIndexes": list(lookup.writable_indexes),
                "readonlyIndexes": list(lookup.readonly_indexes),
            }
            for lookup in message.address_table_lookups
        ]
    return result


def transaction_json(record: TxRecord, encoding: str) -> dict[str, Any]:
    """A landed transaction as ``getTransaction`` returns it (json, base64 or base58)."""
    if encoding == "json":
        transaction: Any = {
            "signatures": [str(sig) for sig in record.tx.signatures],
            "message": _message_json(record),
        }
    elif encoding == "jsonParsed":
        raise RpcFault(INVALID_PARAMS, "this node does not serve jsonParsed transactions")
    else:
        transaction = _encode(bytes(record.tx), encoding)
    meta = {
        "err": record.err,
        "status": {"Ok": None} if record.err is None else {"Err": record.err},
        "fee": record.fee,
        "preBalances": record.pre_balances,
        "postBalances": record.post_balances,
        "innerInstructions": record.inner,
        "logMessages": record.logs,
        "computeUnitsConsumed": record.units,
    }
    version: Any = "legacy" if not isinstance(record.tx.message, MessageV0) else 0
    return {
        "slot": record.slot,
        "blockTime": record.block_time,
        "version": version,
        "transaction": transaction,
        "meta": meta,
    }


def signature_info_json(record: TxRecord) -> dict[str, Any]:
    """One entry of ``getSignaturesForAddress``."""
    return {
        "signature": record.signature,
        "slot": record.slot,
        "err": record.err,
        "memo": record.memo,
        "blockTime": record.block_time,
        "confirmationStatus": "finalized",
    }


def status_json(record: TxRecord | None) -> dict[str, Any] | None:
    """One entry of ``getSignatureStatuses``."""
    if record is None:
        return None
    return {
        "slot": record.slot,
        "confirmations": None,
        "err": record.err,
        "status": {"Ok": None} if record.err is None else {"Err": record.err},
        "confirmationStatus": "finalized",
    }
