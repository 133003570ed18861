"""Revoked tokens: a small store interface, its in-memory double, and the key format.

A token is revoked by its ``jti`` when it has one, else by its hash. Keys carry their kind
(``jti:…`` or ``sha256:…``) so that the two can never be confused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from gateway.errors import BadRequest

__all__ = ["MemoryRevocationStore", "Revocation", "RevocationStore", "revocation_key"]

_JTI = re.compile(r"[\x21-\x7e]{1,128}")
_HASH = re.compile("[0-9a-f]{64}")


def revocation_key(*, jti: str | None = None, token_hash: str | None = None) -> str:
    """The store key for a ``jti`` or a token hash (exactly one of them).

    Raises:
        BadRequest: neither or both given, or the value is malformed (names the field).
    """
    if (jti is None) == (token_hash is None):
        raise BadRequest("give exactly one of 'jti' or 'token_hash'")
    if jti is not None:
        if not _JTI.fullmatch(jti):
            raise BadRequest("'jti' must be 1-128 printable ASCII characters", param="jti")
        return f"jti:{jti}"
    assert token_hash is not None
    if not _HASH.fullmatch(token_hash):
        raise BadRequest("'token_hash' must be 64 lowercase hex digits", param="token_hash")
    return f"sha256:{token_hash}"


class RevocationStore(Protocol):
    """Where revocations live; every gateway process sharing the ledger sees the same set."""

    async def is_revoked(self, key: str) -> bool:
        """Whether the key (from :func:`revocation_key`) was revoked."""
        ...

    async def revoke(self, key: str, *, issuer: str, reason: str) -> None:
        """Revoke a key; ``issuer`` is the CAIP-10 identity that asked. Idempotent."""
        ...


@dataclass(frozen=True, slots=True)
class Revocation:
    """One revocation, as the in-memory store keeps it."""

    issuer: str
    reason: str


class MemoryRevocationStore:
    """A :class:`RevocationStore` in a dict (tests, single-process demos)."""

    def __init__(self) -> None:
        self._revoked: dict[str, Revocation] = {}

    async def is_revoked(self, key: str) -> bool:
        """Whether the key was revoked."""
        return key in self._revoked

    async def revoke(self, key: str, *, issuer: str, reason: str) -> None:
        """Revoke a key (the first revocation's record is kept)."""
        self._revoked.setdefault(key, Revocation(issuer, reason))

    def get(self, key: str) -> Revocation | None:
        """The record of a revoked key."""
        return self._revoked.get(key)
