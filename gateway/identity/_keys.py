"""One 32-byte seed, two wallets: an Ed25519 (Solana) key and a secp256k1 (EVM) key.

The Ed25519 key is the seed itself (RFC 8032 private key, as Solana and libsodium use it). The
secp256k1 key is derived from the same seed with HKDF-SHA256 (RFC 5869: empty salt,
``info=b"bitrouter/evm/v1"``, 48 bytes of output) reduced into ``[1, n-1]``; the 16 extra bytes
make the reduction's bias negligible (FIPS 186-5 A.2.1). specs/auth.md has the test vectors.
"""

from __future__ import annotations

import hmac
from typing import Literal

import base58
import coincurve
import nacl.signing
from eth_hash.auto import keccak

__all__ = [
    "EVM_CHAIN",
    "EVM_KDF_INFO",
    "SECP256K1_ORDER",
    "SOLANA_CHAIN",
    "ChainFamily",
    "WalletKey",
    "derive_evm_secret",
    "eip191_digest",
    "evm_address",
    "to_checksum_address",
]

ChainFamily = Literal["solana", "evm"]

# CAIP-2 ids the gateway signs with: Solana mainnet (genesis hash prefix) and Tempo mainnet.
# Verification accepts any chain reference of either namespace.
SOLANA_CHAIN = "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp"
EVM_CHAIN = "eip155:4217"

EVM_KDF_INFO = b"bitrouter/evm/v1"
SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_SEED_BYTES = 32


def _hkdf_sha256(ikm: bytes, *, info: bytes, length: int) -> bytes:
    prk = hmac.digest(b"\x00" * 32, ikm, "sha256")
    okm, block, counter = b"", b"", 1
    while len(okm) < length:
        block = hmac.digest(prk, block + info + bytes([counter]), "sha256")
        okm += block
        counter += 1
    return okm[:length]


def derive_evm_secret(seed: bytes) -> bytes:
    """The 32-byte secp256k1 private key derived from a master seed."""
    okm = _hkdf_sha256(seed, info=EVM_KDF_INFO, length=48)
    scalar = int.from_bytes(okm, "big") % (SECP256K1_ORDER - 1) + 1
    return scalar.to_bytes(32, "big")


def to_checksum_address(address20: bytes) -> str:
    """EIP-55 mixed-case ``0x`` form of a 20-byte address."""
    lower = address20.hex()
    digest = keccak(lower.encode("ascii")).hex()
    return "0x" + "".join(
        c.upper() if d in "89abcdef" else c for c, d in zip(lower, digest[:40], strict=True)
    )


def evm_address(public_key: coincurve.PublicKey) -> bytes:
    """The 20-byte Ethereum address of a secp256k1 public key."""
    return keccak(public_key.format(compressed=False)[1:])[-20:]


def eip191_digest(message: bytes) -> bytes:
    """Keccak-256 of an EIP-191 ``personal_sign`` message (version ``0x45``)."""
    prefix = b"\x19Ethereum Signed Message:\n" + str(len(message)).encode("ascii")
    return keccak(prefix + message)


class WalletKey:
    """A seed with its two signing keys. Its repr shows addresses only, never secrets."""

    __slots__ = ("_ed25519", "_evm_address", "_secp256k1", "_seed", "_solana_address")

    def __init__(self, seed: bytes) -> None:
        if len(seed) != _SEED_BYTES:
            raise ValueError("a wallet seed is exactly 32 bytes")
        self._seed = bytes(seed)
        self._ed25519 = nacl.signing.SigningKey(self._seed)
        self._secp256k1 = coincurve.PrivateKey(derive_evm_secret(self._seed))
        self._solana_address = base58.b58encode(bytes(self._ed25519.verify_key)).decode("ascii")
        self._evm_address = to_checksum_address(evm_address(self._secp256k1.public_key))

    def __repr__(self) -> str:
        return f"WalletKey(solana={self._solana_address}, evm={self._evm_address})"

    @property
    def solana_address(self) -> str:
        """Base58 Ed25519 public key."""
        return self._solana_address

    @property
    def evm_address(self) -> str:
        """EIP-55 checksummed ``0x`` address of the secp256k1 key."""
        return self._evm_address

    @property
    def solana_secret(self) -> bytes:
        """The 32-byte Ed25519 seed (what Solana signers take)."""
        return self._seed

    @property
    def evm_secret(self) -> bytes:
        """The 32-byte secp256k1 private key (what EVM signers take)."""
        return self._secp256k1.secret

    def address(self, family: ChainFamily) -> str:
        """The address of this key in one chain family."""
        return self._solana_address if family == "solana" else self._evm_address

    def caip10(self, family: ChainFamily) -> str:
        """The CAIP-10 account this key signs tokens as."""
        chain = SOLANA_CHAIN if family == "solana" else EVM_CHAIN
        return f"{chain}:{self.address(family)}"

    def sign_ed25519(self, message: bytes) -> bytes:
        """64-byte Ed25519 signature of ``message``."""
        return self._ed25519.sign(message).signature

    def sign_eip191(self, message: bytes) -> bytes:
        """65-byte ``r || s || v`` (v = 27 or 28) EIP-191 personal-message signature."""
        rsv = self._secp256k1.sign_recoverable(eip191_digest(message), hasher=None)
        return rsv[:64] + bytes([rsv[64] + 27])
