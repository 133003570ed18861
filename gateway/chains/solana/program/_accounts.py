"""The program's account layouts (``Grant`` and ``Receipt`` in ``caps.c``) and their parsers."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from solders.pubkey import Pubkey

from gateway.errors import ChainError

__all__ = ["GRANT_LEN", "RECEIPT_LEN", "GrantAccount", "ReceiptAccount"]

GRANT_LEN = 208
RECEIPT_LEN = 24
_KIND_GRANT, _KIND_RECEIPT = 1, 2
# kind, bump, revoked, 5 reserved; owner, agent, payee, mint, source; caps, paid, expiry, count
_GRANT = struct.Struct("<BBB5x32s32s32s32s32sQQQqQ")
_RECEIPT = struct.Struct("<BB6xQq")


@dataclass(frozen=True, slots=True)
class GrantAccount:
    """A grant as the program stores it: who may pull how much from where, and what was paid."""

    owner: Pubkey
    agent: Pubkey
    payee: Pubkey
    mint: Pubkey
    source: Pubkey
    bump: int
    revoked: bool
    per_tx_cap: int
    cumulative_cap: int
    paid: int
    expires_at: int
    payments: int

    @classmethod
    def parse(cls, data: bytes) -> GrantAccount:
        """Decode a grant account's data; ChainError if it is not one."""
        if len(data) != GRANT_LEN or data[0] != _KIND_GRANT:
            raise ChainError("the account is not a spending-caps grant")
        _, bump, revoked, owner, agent, payee, mint, source, *numbers = _GRANT.unpack(data)
        per_tx_cap, cumulative_cap, paid, expires_at, payments = numbers
        return cls(
            owner=Pubkey(owner),
            agent=Pubkey(agent),
            payee=Pubkey(payee),
            mint=Pubkey(mint),
            source=Pubkey(source),
            bump=bump,
            revoked=bool(revoked),
            per_tx_cap=per_tx_cap,
            cumulative_cap=cumulative_cap,
            paid=paid,
            expires_at=expires_at,
            payments=payments,
        )

    @property
    def remaining(self) -> int:
        """What the cumulative cap still allows."""
        return self.cumulative_cap - self.paid


@dataclass(frozen=True, slots=True)
class ReceiptAccount:
    """The record of one payment; its address is derived from (grant, reference)."""

    bump: int
    amount: int
    paid_at: int

    @classmethod
    def parse(cls, data: bytes) -> ReceiptAccount:
        """Decode a receipt account's data; ChainError if it is not one."""
        if len(data) != RECEIPT_LEN or data[0] != _KIND_RECEIPT:
            raise ChainError("the account is not a spending-caps receipt")
        _, bump, amount, paid_at = _RECEIPT.unpack(data)
        return cls(bump=bump, amount=amount, paid_at=paid_at)
