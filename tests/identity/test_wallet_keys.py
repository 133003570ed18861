from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from eth_account import Account as EthAccount
from eth_utils.address import to_checksum_address
from solders.keypair import Keypair

from gateway.identity import WalletKey, derive_evm_secret
from gateway.identity._keys import SECP256K1_ORDER

# The vectors of specs/auth.md (AUTH-KEY-2).
VECTORS = [
    (
        bytes(range(32)),
        "FAe4sisG95oZ42w7buUn5qEE4TAnfTTFPiguZUHmhiF",
        "f2cbb0c3ccaa416258af42d3c08c1cd438e3470eb02f2069262dc94efa71cc4b",
        "0x20BC33b57f10d71729ED0B2DEC27357aB84DfdAc",
    ),
    (
        bytes(32),
        "4zvwRjXUKGfvwnParsHAS3HuSVzV5cA4McphgmoCtajS",
        "a21bd650f050e952a0cc2311a4ce89c161018b3bf3c5a73eb7e53b9de9311d6c",
        "0xdDDB5714D61c818314A3a2b3997aD475e0F95B37",
    ),
]


@pytest.mark.req("AUTH-KEY-2")
@pytest.mark.parametrize(("seed", "solana", "evm_secret", "evm"), VECTORS)
def test_spec_vectors(seed: bytes, solana: str, evm_secret: str, evm: str) -> None:
    key = WalletKey(seed)
    assert key.solana_address == solana
    assert key.evm_secret.hex() == evm_secret
    assert key.evm_address == evm
    assert key.caip10("solana") == f"solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp:{solana}"
    assert key.caip10("evm") == f"eip155:4217:{evm}"


@pytest.mark.req("AUTH-KEY-2")
@pytest.mark.parametrize("seed", [bytes(range(32)), bytes(32), b"\xff" * 32, b"seed" * 8])
def test_derivation_matches_independent_libraries(seed: bytes) -> None:
    key = WalletKey(seed)
    assert key.solana_address == str(Keypair.from_seed(seed).pubkey())
    okm = HKDF(algorithm=hashes.SHA256(), length=48, salt=None, info=b"bitrouter/evm/v1").derive(
        seed
    )
    expected = int.from_bytes(okm, "big") % (SECP256K1_ORDER - 1) + 1
    assert int.from_bytes(derive_evm_secret(seed), "big") == expected
    address = EthAccount.from_key(key.evm_secret).address
    assert key.evm_address == address == to_checksum_address(address.lower())


def test_the_two_keys_differ_and_depend_on_the_seed() -> None:
    a, b = WalletKey(bytes(32)), WalletKey(bytes(31) + b"\x01")
    assert a.solana_secret != a.evm_secret
    assert a.solana_address != b.solana_address and a.evm_address != b.evm_address


@pytest.mark.req("AUTH-SEC-1")
def test_repr_shows_addresses_not_secrets() -> None:
    key = WalletKey(bytes(range(32)))
    text = repr(key) + str(key)
    assert key.solana_address in text and key.evm_address in text
    for secret in (key.solana_secret.hex(), key.evm_secret.hex(), bytes(range(32)).hex()):
        assert secret not in text
    assert "\\x00\\x01" not in text


def test_seed_must_be_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        WalletKey(bytes(31))
