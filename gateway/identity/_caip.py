"""CAIP-2 chains and CAIP-10 accounts, parsed strictly (ASCII only, canonical addresses).

Strictness matters here: the issuer string is the caller's identity, so two spellings of one
key must not become two identities, and look-alike characters must not become a third.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from gateway.identity._keys import to_checksum_address

__all__ = ["Account", "Namespace", "parse_account", "parse_address"]

Namespace = Literal["solana", "eip155"]

# Explicit ASCII classes: ``\d`` and ``\w`` would also match other scripts' digits and letters.
_BASE58 = "1-9A-HJ-NP-Za-km-z"
_CHAIN_REFERENCE = {
    "solana": re.compile(f"[{_BASE58}]{{1,32}}"),
    "eip155": re.compile("[1-9][0-9]{0,31}"),
}
_SOLANA_ADDRESS = re.compile(f"[{_BASE58}]{{32,44}}")
_EVM_ADDRESS = re.compile("0x[0-9a-fA-F]{40}")
_BASE58_DIGITS = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE58_VALUE = {c: i for i, c in enumerate(_BASE58_DIGITS)}


def _b58decode(text: str) -> bytes:
    # Base58 has one spelling per byte string (leading '1's are leading zero bytes, the rest is
    # a number without leading zeros), so decoding is enough to know the text is canonical.
    number = 0
    for char in text:
        number = number * 58 + _BASE58_VALUE[char]
    zeros = len(text) - len(text.lstrip("1"))
    return b"\x00" * zeros + (
        number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    )


@dataclass(frozen=True, slots=True)
class Account:
    """A CAIP-10 account with its address in canonical form (EVM: EIP-55 checksummed)."""

    namespace: Namespace
    reference: str
    address: str
    # The address as bytes: a 32-byte Ed25519 public key, or a 20-byte EVM address.
    key: bytes = field(compare=False, repr=False)

    @property
    def chain(self) -> str:
        """The CAIP-2 chain id, ``namespace:reference``."""
        return f"{self.namespace}:{self.reference}"

    @property
    def caip10(self) -> str:
        """The canonical CAIP-10 string, ``namespace:reference:address``."""
        return f"{self.namespace}:{self.reference}:{self.address}"


def parse_address(namespace: Namespace, text: str) -> str:
    """The canonical form of an address of ``namespace``.

    Raises:
        ValueError: not an address of that namespace (with the reason).
    """
    return _address(namespace, text)[0]


def _address(namespace: Namespace, text: str) -> tuple[str, bytes]:
    if namespace == "solana":
        if not _SOLANA_ADDRESS.fullmatch(text):
            raise ValueError("not a base58 Solana address")
        raw = _b58decode(text)
        if len(raw) != 32:
            raise ValueError("a Solana address is 32 bytes in base58")
        return text, raw
    if not _EVM_ADDRESS.fullmatch(text):
        raise ValueError("not a 0x-prefixed 40-digit hex EVM address")
    raw = bytes.fromhex(text[2:])
    checksummed = to_checksum_address(raw)
    body = text[2:]
    # Single-case spellings carry no checksum (EIP-55); a mixed-case one must be right.
    if body != body.lower() and body != body.upper() and text != checksummed:
        raise ValueError("EVM address has a wrong EIP-55 checksum")
    return checksummed, raw


def parse_account(text: str) -> Account:
    """Parse a CAIP-10 account of the ``solana`` or ``eip155`` namespace.

    Raises:
        ValueError: not such an account (with the reason).
    """
    if not text.isascii():
        raise ValueError("contains non-ASCII characters")
    parts = text.split(":")
    if len(parts) != 3:
        raise ValueError("expected namespace:reference:address")
    namespace, reference, address = parts
    if namespace not in _CHAIN_REFERENCE:
        raise ValueError("namespace must be 'solana' or 'eip155'")
    ns: Namespace = "solana" if namespace == "solana" else "eip155"
    if not _CHAIN_REFERENCE[ns].fullmatch(reference):
        raise ValueError(f"not a valid {ns} chain reference")
    canonical, raw = _address(ns, address)
    return Account(ns, reference, canonical, raw)
