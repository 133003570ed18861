"""The verified caller that the rest of the gateway receives."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.identity._caip import Namespace
from gateway.identity._claims import Claims, Scope
from gateway.identity._revocation import revocation_key

__all__ = ["Principal"]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, proven by a verified token.

    ``identity`` is the canonical CAIP-10 ``iss`` (EVM addresses EIP-55 checksummed): the key
    under which spending, usage and rate limits are kept.
    """

    identity: str
    namespace: Namespace
    chain: str
    address: str
    scope: Scope
    claims: Claims
    token_hash: str
    agent: str | None

    @property
    def revocation_key(self) -> str:
        """The key under which this token is revoked: its ``jti``, else its hash."""
        if self.claims.jti is not None:
            return revocation_key(jti=self.claims.jti)
        return revocation_key(token_hash=self.token_hash)
