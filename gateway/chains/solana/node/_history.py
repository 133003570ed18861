"""What the node remembers about landed transactions, as an RPC node's ledger history would.

Only transactions that landed (succeeded, or failed after paying their fee) are kept; the
address index lists, per account key, the signatures that touched it, oldest first, which is what
``getSignaturesForAddress`` pages through newest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

__all__ = ["MEMO_PROGRAMS", "History", "TxRecord", "memo_text"]

MEMO_PROGRAMS = frozenset(
    {
        Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr"),
        Pubkey.from_string("Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo"),
    }
)


@dataclass(frozen=True, slots=True)
class TxRecord:
    """A landed transaction and its execution result (JSON-shaped where the RPC needs it)."""

    signature: str
    slot: int
    block_time: int
    tx: VersionedTransaction
    err: Any
    logs: list[str]
    fee: int
    units: int
    pre_balances: list[int]
    post_balances: list[int]
    inner: list[dict[str, Any]]
    memo: str | None


def memo_text(tx: VersionedTransaction) -> str | None:
    """The memos of ``tx`` the way Solana RPC formats them: ``[len] text``, joined by ``; ``."""
    message = tx.message
    keys = message.account_keys
    memos = []
    for ix in message.instructions:
        if keys[ix.program_id_index] in MEMO_PROGRAMS:
            text = bytes(ix.data).decode("utf-8", errors="replace")
            memos.append(f"[{len(text)}] {text}")
    return "; ".join(memos) if memos else None


class History:
    """Landed transactions by signature, and signatures by account address."""

    def __init__(self) -> None:
        self._by_signature: dict[str, TxRecord] = {}
        self._by_address: dict[str, list[str]] = {}

    def add(self, record: TxRecord) -> None:
        """Remember a landed transaction."""
        self._by_signature[record.signature] = record
        for key in dict.fromkeys(record.tx.message.account_keys):
            self._by_address.setdefault(str(key), []).append(record.signature)

    def get(self, signature: str) -> TxRecord | None:
        """The landed transaction with this signature."""
        return self._by_signature.get(signature)

    def for_address(
        self, address: str, *, before: str | None, until: str | None, limit: int
    ) -> list[TxRecord]:
        """Transactions touching ``address``, newest first, strictly between ``before`` and
        ``until``."""
        signatures = self._by_address.get(address, [])
        end = len(signatures)
        if before is not None:
            record = self._by_signature.get(before)
            end = self._position(signatures, record) if record else 0
        found: list[TxRecord] = []
        for index in range(end - 1, -1, -1):
            if signatures[index] == until or len(found) >= limit:
                break
            found.append(self._by_signature[signatures[index]])
        return found

    @staticmethod
    def _position(signatures: list[str], record: TxRecord) -> int:
        # Index lists are append-only, so the newest entries are the likeliest cursors.
        for index in range(len(signatures) - 1, -1, -1):
            if signatures[index] == record.signature:
                return index
        return 0
