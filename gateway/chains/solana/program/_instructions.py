"""Instructions of the spending-caps program, and the addresses it derives.

Each instruction is a 1-byte tag followed by fixed little-endian fields; the account order is
the one ``caps.c`` documents. Grants live at ``[b"grant", owner, agent]``; each payment's
receipt at ``[b"receipt", grant, reference]``, whose existence is what stops a reference from
being paid twice.
"""

from __future__ import annotations

import struct

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

__all__ = [
    "SYSTEM_PROGRAM_ID",
    "TOKEN_PROGRAM_ID",
    "close_ix",
    "grant_address",
    "grant_ix",
    "pay_ix",
    "receipt_address",
    "revoke_ix",
]

TOKEN_PROGRAM_ID = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
SYSTEM_PROGRAM_ID = Pubkey.from_string("11111111111111111111111111111111")

_GRANT, _PAY, _REVOKE, _CLOSE = 0, 1, 2, 3
_U64_MAX = 2**64 - 1
_I64_MAX = 2**63 - 1


def _u64(name: str, value: int) -> int:
    if not 0 <= value <= _U64_MAX:
        raise ValueError(f"{name} must be between 0 and 2**64-1, got {value}")
    return value


def grant_address(program_id: Pubkey, owner: Pubkey, agent: Pubkey) -> tuple[Pubkey, int]:
    """The grant PDA of (owner, agent) and its bump."""
    return Pubkey.find_program_address([b"grant", bytes(owner), bytes(agent)], program_id)


def receipt_address(program_id: Pubkey, grant: Pubkey, reference: bytes) -> tuple[Pubkey, int]:
    """The receipt PDA of a payment ``reference`` (32 bytes) under ``grant``, and its bump."""
    if len(reference) != 32:
        raise ValueError(f"reference must be 32 bytes, got {len(reference)}")
    return Pubkey.find_program_address([b"receipt", bytes(grant), reference], program_id)


def grant_ix(
    program_id: Pubkey,
    *,
    owner: Pubkey,
    agent: Pubkey,
    payee: Pubkey,
    mint: Pubkey,
    source: Pubkey,
    per_tx_cap: int,
    cumulative_cap: int,
    expires_at: int,
) -> Instruction:
    """Owner-signed: create the grant and SPL-approve it on ``source`` for ``cumulative_cap``."""
    if not 0 < expires_at <= _I64_MAX:
        raise ValueError(f"expires_at must be a positive unix time, got {expires_at}")
    grant, _ = grant_address(program_id, owner, agent)
    data = struct.pack(
        "<B32s32sQQq",
        _GRANT,
        bytes(agent),
        bytes(payee),
        _u64("per_tx_cap", per_tx_cap),
        _u64("cumulative_cap", cumulative_cap),
        expires_at,
    )
    accounts = [
        AccountMeta(owner, is_signer=True, is_writable=True),
        AccountMeta(grant, is_signer=False, is_writable=True),
        AccountMeta(source, is_signer=False, is_writable=True),
        AccountMeta(mint, is_signer=False, is_writable=False),
        AccountMeta(TOKEN_PROGRAM_ID, is_signer=False, is_writable=False),
        AccountMeta(SYSTEM_PROGRAM_ID, is_signer=False, is_writable=False),
    ]
    return Instruction(program_id, data, accounts)


def pay_ix(
    program_id: Pubkey,
    *,
    payee: Pubkey,
    owner: Pubkey,
    agent: Pubkey,
    source: Pubkey,
    mint: Pubkey,
    destination: Pubkey,
    amount: int,
    reference: bytes,
) -> Instruction:
    """Payee-signed: move ``amount`` from the grant's ``source`` to the payee's ``destination``.

    The payee pays the rent of the payment's receipt account.
    """
    grant, _ = grant_address(program_id, owner, agent)
    receipt, bump = receipt_address(program_id, grant, reference)
    data = struct.pack("<BQ32sB", _PAY, _u64("amount", amount), reference, bump)
    accounts = [
        AccountMeta(payee, is_signer=True, is_writable=True),
        AccountMeta(grant, is_signer=False, is_writable=True),
        AccountMeta(source, is_signer=False, is_writable=True),
        AccountMeta(mint, is_signer=False, is_writable=False),
        AccountMeta(destination, is_signer=False, is_writable=True),
        AccountMeta(receipt, is_signer=False, is_writable=True),
        AccountMeta(TOKEN_PROGRAM_ID, is_signer=False, is_writable=False),
        AccountMeta(SYSTEM_PROGRAM_ID, is_signer=False, is_writable=False),
    ]
    return Instruction(program_id, data, accounts)


def revoke_ix(program_id: Pubkey, *, owner: Pubkey, agent: Pubkey, source: Pubkey) -> Instruction:
    """Owner-signed: revoke the grant and drop its SPL approval on ``source``."""
    grant, _ = grant_address(program_id, owner, agent)
    accounts = [
        AccountMeta(owner, is_signer=True, is_writable=False),
        AccountMeta(grant, is_signer=False, is_writable=True),
        AccountMeta(source, is_signer=False, is_writable=True),
        AccountMeta(TOKEN_PROGRAM_ID, is_signer=False, is_writable=False),
    ]
    return Instruction(program_id, bytes([_REVOKE]), accounts)


def close_ix(program_id: Pubkey, *, owner: Pubkey, agent: Pubkey) -> Instruction:
    """Owner-signed: delete a revoked grant and return its rent to the owner."""
    grant, _ = grant_address(program_id, owner, agent)
    accounts = [
        AccountMeta(owner, is_signer=True, is_writable=True),
        AccountMeta(grant, is_signer=False, is_writable=True),
    ]
    return Instruction(program_id, bytes([_CLOSE]), accounts)
