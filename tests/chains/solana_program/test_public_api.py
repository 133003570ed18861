"""The package's public names, its error table against the C source, and the account parsers."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest
from solders.pubkey import Pubkey

import gateway.chains.solana.program as program
from gateway.chains.solana.program import (
    GRANT_LEN,
    GrantAccount,
    ProgramError,
    ReceiptAccount,
    receipt_address,
)
from gateway.errors import ChainError

SOURCE = Path(program.__file__).with_name("caps.c")


def test_all_names_exist() -> None:
    assert sorted(program.__all__) == sorted(set(program.__all__))
    for name in program.__all__:
        assert getattr(program, name).__doc__ or name.isupper(), name


@pytest.mark.req("SOL-PROG-5")
def test_error_codes_match_the_c_source() -> None:
    in_c = dict(re.findall(r"^\s*ERR_(\w+) = (\d+),", SOURCE.read_text(), re.MULTILINE))
    assert {name: int(code) for name, code in in_c.items()} == {
        e.name: e.value for e in ProgramError
    }
    assert all(e.description for e in ProgramError)
    assert ProgramError.from_code(120) is ProgramError.OVER_PER_TX_CAP
    assert ProgramError.from_code(4) is None
    assert ProgramError.OVER_PER_TX_CAP.code == "per_tx_cap_exceeded"
    assert ProgramError.REFERENCE_USED.code == "reference_used"
    assert ProgramError.EXPIRED.code == "expired" and ProgramError.REVOKED.code == "revoked"


def test_grant_parser_round_trips_the_layout() -> None:
    keys = [Pubkey.new_unique() for _ in range(5)]
    data = struct.pack("<BBB5x", 1, 254, 1) + b"".join(bytes(k) for k in keys)
    data += struct.pack("<QQQqQ", 10, 100, 30, 1_800_000_000, 3)
    assert len(data) == GRANT_LEN
    grant = GrantAccount.parse(data)
    assert [grant.owner, grant.agent, grant.payee, grant.mint, grant.source] == keys
    assert (grant.bump, grant.revoked, grant.per_tx_cap, grant.cumulative_cap) == (
        254,
        True,
        10,
        100,
    )
    assert (grant.paid, grant.remaining, grant.expires_at, grant.payments) == (
        30,
        70,
        1_800_000_000,
        3,
    )
    with pytest.raises(ChainError):
        GrantAccount.parse(data[:-1])
    with pytest.raises(ChainError):
        GrantAccount.parse(bytes([2]) + data[1:])
    with pytest.raises(ChainError):
        ReceiptAccount.parse(data)


def test_references_are_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        receipt_address(Pubkey.new_unique(), Pubkey.new_unique(), b"short")
