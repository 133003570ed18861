"""The two signature algorithms of the token format, as PyJWT ``Algorithm`` plug-ins.

Verification keys are the issuer's address (the only key a self-signed token names); signing
keys are a :class:`WalletKey`.
"""

from __future__ import annotations

from typing import Any, NoReturn

import base58
import coincurve
import nacl.exceptions
import nacl.signing
from jwt.algorithms import Algorithm

from gateway.identity._keys import SECP256K1_ORDER, WalletKey, eip191_digest, evm_address

__all__ = ["Eip191K", "SolEddsa"]

_HALF_ORDER = SECP256K1_ORDER // 2


class _SelfSigned(Algorithm):
    @staticmethod
    def to_jwk(key_obj: Any, as_dict: bool = False) -> NoReturn:
        raise NotImplementedError("wallet keys have no JWK form")

    @staticmethod
    def from_jwk(jwk: Any) -> NoReturn:
        raise NotImplementedError("wallet keys have no JWK form")


class SolEddsa(_SelfSigned):
    """``SOL_EDDSA``: Ed25519 over the signing input; the key is a base58 Solana address."""

    def prepare_key(self, key: Any) -> WalletKey | nacl.signing.VerifyKey:
        if isinstance(key, WalletKey):
            return key
        if isinstance(key, bytes) and len(key) == 32:
            return nacl.signing.VerifyKey(key)
        if isinstance(key, str):
            return nacl.signing.VerifyKey(base58.b58decode(key))
        raise TypeError("SOL_EDDSA takes a WalletKey, a Solana address or its 32 bytes")

    def sign(self, msg: bytes, key: Any) -> bytes:
        if not isinstance(key, WalletKey):
            raise TypeError("SOL_EDDSA signs with a WalletKey")
        return key.sign_ed25519(msg)

    def verify(self, msg: bytes, key: Any, sig: bytes) -> bool:
        if not isinstance(key, nacl.signing.VerifyKey) or len(sig) != 64:
            return False
        try:
            key.verify(msg, sig)
        except nacl.exceptions.BadSignatureError:
            return False
        return True


class Eip191K(_SelfSigned):
    """``EIP191K``: secp256k1 ``personal_sign``; verified by recovering the signer's address.

    Only the canonical signature encoding is accepted (low ``s`` as EIP-2 requires, ``v`` of 27
    or 28): a second valid encoding of one signature would give the same claims a second token
    hash, which would slip past revocation by hash.
    """

    def prepare_key(self, key: Any) -> WalletKey | bytes:
        if isinstance(key, WalletKey):
            return key
        if isinstance(key, bytes) and len(key) == 20:
            return key
        if isinstance(key, str) and key.startswith("0x") and len(key) == 42:
            return bytes.fromhex(key[2:])
        raise TypeError("EIP191K takes a WalletKey, a 0x address or its 20 bytes")

    def sign(self, msg: bytes, key: Any) -> bytes:
        if not isinstance(key, WalletKey):
            raise TypeError("EIP191K signs with a WalletKey")
        return key.sign_eip191(msg)

    def verify(self, msg: bytes, key: Any, sig: bytes) -> bool:
        if not isinstance(key, bytes) or len(sig) != 65 or sig[64] not in (27, 28):
            return False
        r = int.from_bytes(sig[:32], "big")
        s = int.from_bytes(sig[32:64], "big")
        if not (0 < r < SECP256K1_ORDER and 0 < s <= _HALF_ORDER):
            return False
        try:
            public = coincurve.PublicKey.from_signature_and_message(
                sig[:64] + bytes([sig[64] - 27]), eip191_digest(msg), hasher=None
            )
        except ValueError:
            return False
        return evm_address(public) == key
