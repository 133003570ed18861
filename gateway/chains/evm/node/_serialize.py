"""py-evm blocks, transactions, receipts and logs in Ethereum JSON-RPC form (hex quantities)."""

from __future__ import annotations

from typing import Any

import rlp  # type: ignore[import-untyped]
from eth._utils.address import generate_contract_address
from eth.abc import BlockAPI, LogAPI, ReceiptAPI, SignedTransactionAPI
from eth_utils.address import to_checksum_address

__all__ = [
    "block_json",
    "block_logs",
    "data",
    "log_json",
    "quantity",
    "receipt_json",
    "transaction_json",
]

Json = dict[str, Any]


def quantity(value: int) -> str:
    """An integer as a JSON-RPC quantity."""
    return hex(value)


def data(value: bytes) -> str:
    """Bytes as JSON-RPC data."""
    return "0x" + bytes(value).hex()


def _word(value: int) -> str:
    return data(value.to_bytes(32, "big"))


def _address(value: bytes) -> str | None:
    return to_checksum_address(value) if value else None


def block_json(block: BlockAPI, full: bool, chain_id: int) -> Json:
    """``eth_getBlockBy*``: header fields plus transaction hashes (or full transactions)."""
    header = block.header
    base_fee = getattr(header, "base_fee_per_gas", None)
    out: Json = {
        "number": quantity(header.block_number),
        "hash": data(header.hash),
        "parentHash": data(header.parent_hash),
        "nonce": data(header.nonce),
        "mixHash": data(header.mix_hash),
        "sha3Uncles": data(header.uncles_hash),
        "logsBloom": data(header.bloom.to_bytes(256, "big")),
        "transactionsRoot": data(header.transaction_root),
        "stateRoot": data(header.state_root),
        "receiptsRoot": data(header.receipt_root),
        "miner": to_checksum_address(header.coinbase),
        "difficulty": quantity(header.difficulty),
        "totalDifficulty": quantity(0),
        "extraData": data(header.extra_data),
        "size": quantity(len(rlp.encode(block))),
        "gasLimit": quantity(header.gas_limit),
        "gasUsed": quantity(header.gas_used),
        "timestamp": quantity(header.timestamp),
        "uncles": [],
        "transactions": [
            transaction_json(tx, block, index, chain_id) if full else data(tx.hash)
            for index, tx in enumerate(block.transactions)
        ],
    }
    if base_fee is not None:
        out["baseFeePerGas"] = quantity(base_fee)
    for key, attr in (
        ("withdrawalsRoot", "withdrawals_root"),
        ("parentBeaconBlockRoot", "parent_beacon_block_root"),
        ("requestsHash", "requests_hash"),
    ):
        value = getattr(header, attr, None)
        if value is not None:
            out[key] = data(value)
    for key, attr in (("blobGasUsed", "blob_gas_used"), ("excessBlobGas", "excess_blob_gas")):
        value = getattr(header, attr, None)
        if value is not None:
            out[key] = quantity(value)
    if hasattr(header, "withdrawals_root"):
        out["withdrawals"] = []
    return out


def _effective_gas_price(tx: SignedTransactionAPI, base_fee: int) -> int:
    if tx.type_id in (None, 1):
        return int(tx.gas_price)
    return min(int(tx.max_fee_per_gas), base_fee + int(tx.max_priority_fee_per_gas))


def transaction_json(tx: SignedTransactionAPI, block: BlockAPI, index: int, chain_id: int) -> Json:
    """``eth_getTransactionByHash``: a mined transaction."""
    base_fee = int(getattr(block.header, "base_fee_per_gas", 0) or 0)
    out: Json = {
        "hash": data(tx.hash),
        "type": quantity(tx.type_id or 0),
        "nonce": quantity(tx.nonce),
        "from": to_checksum_address(tx.sender),
        "to": _address(tx.to),
        "value": quantity(tx.value),
        "gas": quantity(tx.gas),
        "gasPrice": quantity(_effective_gas_price(tx, base_fee)),
        "input": data(tx.data),
        "r": quantity(tx.r),
        "s": quantity(tx.s),
        "blockHash": data(block.header.hash),
        "blockNumber": quantity(block.header.block_number),
        "transactionIndex": quantity(index),
    }
    if tx.type_id is None:
        v = int(getattr(tx, "v", 0))
        out["v"] = quantity(v)
        if v >= 35:  # EIP-155: v = 35 + 2 * chain id + parity
            out["chainId"] = quantity((v - 35) // 2)
    else:
        out["chainId"] = quantity(chain_id)
        out["v"] = quantity(tx.y_parity)
        out["yParity"] = quantity(tx.y_parity)
        out["accessList"] = [
            {
                "address": to_checksum_address(address),
                "storageKeys": [_word(slot) for slot in slots],
            }
            for address, slots in tx.access_list
        ]
        if tx.type_id >= 2:
            out["maxFeePerGas"] = quantity(tx.max_fee_per_gas)
            out["maxPriorityFeePerGas"] = quantity(tx.max_priority_fee_per_gas)
    return out


def log_json(
    log: LogAPI, block: BlockAPI, tx: SignedTransactionAPI, tx_index: int, log_index: int
) -> Json:
    """One log entry; ``log_index`` counts from the start of the block."""
    return {
        "address": to_checksum_address(log.address),
        "topics": [_word(topic) for topic in log.topics],
        "data": data(log.data),
        "blockNumber": quantity(block.header.block_number),
        "blockHash": data(block.header.hash),
        "transactionHash": data(tx.hash),
        "transactionIndex": quantity(tx_index),
        "logIndex": quantity(log_index),
        "removed": False,
    }


def block_logs(block: BlockAPI, receipts: tuple[ReceiptAPI, ...]) -> list[Json]:
    """Every log of ``block``, in order."""
    out: list[Json] = []
    for tx_index, (tx, receipt) in enumerate(zip(block.transactions, receipts, strict=True)):
        for log in receipt.logs:
            out.append(log_json(log, block, tx, tx_index, len(out)))
    return out


def receipt_json(block: BlockAPI, receipts: tuple[ReceiptAPI, ...], index: int) -> Json:
    """``eth_getTransactionReceipt`` of the ``index``-th transaction of ``block``."""
    tx = block.transactions[index]
    receipt = receipts[index]
    previous = receipts[index - 1].gas_used if index else 0
    first_log = sum(len(r.logs) for r in receipts[:index])
    base_fee = int(getattr(block.header, "base_fee_per_gas", 0) or 0)
    contract = None
    if not tx.to:
        contract = to_checksum_address(generate_contract_address(tx.sender, tx.nonce))
    return {
        "transactionHash": data(tx.hash),
        "transactionIndex": quantity(index),
        "blockHash": data(block.header.hash),
        "blockNumber": quantity(block.header.block_number),
        "from": to_checksum_address(tx.sender),
        "to": _address(tx.to),
        "cumulativeGasUsed": quantity(receipt.gas_used),
        "gasUsed": quantity(receipt.gas_used - previous),
        "effectiveGasPrice": quantity(_effective_gas_price(tx, base_fee)),
        "contractAddress": contract,
        "logs": [
            log_json(log, block, tx, index, first_log + n) for n, log in enumerate(receipt.logs)
        ],
        "logsBloom": data(receipt.bloom.to_bytes(256, "big")),
        # Post-Byzantium receipts carry the status where the state root used to be.
        "status": quantity(1 if receipt.state_root == b"\x01" else 0),
        "type": quantity(tx.type_id or 0),
    }
