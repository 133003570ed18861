"""The grant, revocation and payment records written on-chain as Memo instructions.

A grant's per-transaction cap and expiry are not something SPL Token can hold, so the grant
transaction carries them in a memo next to the ``approve_checked`` it explains::

    bitrouter/grant/v1 {"cumulative_cap":…,"expires_at":…,"payee":"…","per_tx_cap":…}
    bitrouter/revoke/v1 {…the grant's fields…, "paid":…}
    bitrouter/pay/v1 <64 hex digits of the reference>

Anyone can write a memo, so a record counts only when the transaction that carries it succeeded,
was signed by the owner, and performs what the record says (an ``approve_checked`` of exactly
the cumulative cap to exactly the payee on the agent's account, or a ``revoke`` of it). A payment
counts only when its transaction moved USDC out of the agent's account.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction
from spl.memo.constants import MEMO_PROGRAM_ID
from spl.token.constants import TOKEN_PROGRAM_ID

__all__ = [
    "GrantRecord",
    "grant_memo",
    "may_hold_payment",
    "may_hold_record",
    "parse_payment",
    "parse_record",
    "pay_memo",
    "revoke_memo",
]

_GRANT = "bitrouter/grant/v1 "
_REVOKE = "bitrouter/revoke/v1 "
_PAY = "bitrouter/pay/v1 "
_TRANSFER_CHECKED, _APPROVE_CHECKED, _REVOKE_IX = 12, 13, 5
_FIELDS = ("cumulative_cap", "expires_at", "payee", "per_tx_cap")


@dataclass(frozen=True, slots=True)
class GrantRecord:
    """The latest grant (or revocation) of an agent's authority, as recorded on-chain."""

    signature: str
    payee: Pubkey
    per_tx_cap: int
    cumulative_cap: int
    expires_at: int
    revoked: bool
    paid_at_revocation: int


def grant_memo(payee: Pubkey, per_tx_cap: int, cumulative_cap: int, expires_at: int) -> bytes:
    """The memo of a grant."""
    fields = {"cumulative_cap": cumulative_cap, "expires_at": expires_at, "payee": str(payee)}
    fields["per_tx_cap"] = per_tx_cap
    return (_GRANT + json.dumps(fields, sort_keys=True, separators=(",", ":"))).encode()


def revoke_memo(record: GrantRecord | None, paid: int) -> bytes:
    """The memo of a revocation (repeating the grant, so one record says everything)."""
    fields: dict[str, Any] = {"paid": paid}
    if record is not None:
        fields |= {"cumulative_cap": record.cumulative_cap, "expires_at": record.expires_at}
        fields |= {"payee": str(record.payee), "per_tx_cap": record.per_tx_cap}
    return (_REVOKE + json.dumps(fields, sort_keys=True, separators=(",", ":"))).encode()


def pay_memo(reference: bytes) -> bytes:
    """The memo of a payment: its 32-byte reference in hex."""
    return (_PAY + reference.hex()).encode()


def may_hold_record(memo: str | None) -> bool:
    """Whether a ``getSignaturesForAddress`` memo field may be a grant or revocation record."""
    return memo is None or _GRANT in memo or _REVOKE in memo


def may_hold_payment(memo: str | None, reference: bytes) -> bool:
    """Whether a ``getSignaturesForAddress`` memo field may be the payment with ``reference``."""
    return memo is None or (_PAY + reference.hex()) in memo


def _instructions(tx: VersionedTransaction) -> list[tuple[Pubkey, list[Pubkey], bytes]]:
    keys = tx.message.account_keys
    return [
        (keys[ix.program_id_index], [keys[i] for i in ix.accounts], bytes(ix.data))
        for ix in tx.message.instructions
    ]


def _memos(tx: VersionedTransaction) -> list[str]:
    texts = []
    for program, _, data in _instructions(tx):
        if program == MEMO_PROGRAM_ID:
            texts.append(data.decode("utf-8", errors="replace"))
    return texts


def _token_ix(ix: tuple[Pubkey, list[Pubkey], bytes], kind: int, account: Pubkey) -> bool:
    program, accounts, data = ix
    return program == TOKEN_PROGRAM_ID and data[:1] == bytes([kind]) and accounts[:1] == [account]


def _fields(text: str, prefix: str) -> dict[str, Any] | None:
    try:
        fields = json.loads(text[len(prefix) :])
    except ValueError:
        return None
    return fields if isinstance(fields, dict) else None


def parse_record(
    tx: VersionedTransaction, signature: str, owner: Pubkey, account: Pubkey
) -> GrantRecord | None:
    """The grant or revocation record ``tx`` carries for ``account``, if it is genuine."""
    signers = tx.message.account_keys[: tx.message.header.num_required_signatures]
    if owner not in signers:
        return None
    ixs = _instructions(tx)
    for text in _memos(tx):
        revoked = text.startswith(_REVOKE)
        fields = _fields(text, _REVOKE if revoked else _GRANT)
        if fields is None or not (revoked or text.startswith(_GRANT)):
            continue
        if revoked:
            if not any(_token_ix(ix, _REVOKE_IX, account) and ix[1][1] == owner for ix in ixs):
                continue
            fields = {"cumulative_cap": 0, "expires_at": 0, "per_tx_cap": 0} | fields
            fields.setdefault("payee", str(Pubkey.default()))
        try:
            record = GrantRecord(
                signature=signature,
                payee=Pubkey.from_string(str(fields["payee"])),
                per_tx_cap=int(fields["per_tx_cap"]),
                cumulative_cap=int(fields["cumulative_cap"]),
                expires_at=int(fields["expires_at"]),
                revoked=revoked,
                paid_at_revocation=int(fields.get("paid", 0)),
            )
        except (KeyError, TypeError, ValueError):
            continue
        if revoked or any(_approves(ix, account, record, owner) for ix in ixs):
            return record
    return None


def _approves(
    ix: tuple[Pubkey, list[Pubkey], bytes], account: Pubkey, record: GrantRecord, owner: Pubkey
) -> bool:
    if not _token_ix(ix, _APPROVE_CHECKED, account) or len(ix[1]) < 4:
        return False
    amount = int.from_bytes(ix[2][1:9], "little")
    return ix[1][2] == record.payee and ix[1][3] == owner and amount == record.cumulative_cap


def parse_payment(tx: VersionedTransaction, account: Pubkey, reference: bytes) -> int | None:
    """The USDC amount ``tx`` moved out of ``account`` if it carries ``reference``."""
    if pay_memo(reference).decode() not in _memos(tx):
        return None
    amounts = [
        int.from_bytes(ix[2][1:9], "little")
        for ix in _instructions(tx)
        if _token_ix(ix, _TRANSFER_CHECKED, account)
    ]
    return sum(amounts) if amounts else None
