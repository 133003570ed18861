"""The verified caller that the rest of the gateway receives."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.errors import Forbidden
from gateway.identity._caip import Namespace
from gateway.identity._claims import Claims, Scope
from gateway.identity._globs import model_allowed, tool_allowed
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

    def check_model(self, model_id: str) -> None:
        """Refuse a model outside the token's ``models`` allowlist (call before reserving).

        Raises:
            Forbidden: the model is not allowed.
        """
        if not model_allowed(self.claims.models, model_id):
            raise Forbidden(
                f"model {model_id!r} is not allowed by this token's 'models' claim",
                code="model_not_allowed",
                param="model",
            )

    def check_tool(self, tool_name: str) -> None:
        """Refuse a tool outside the token's ``tools`` allowlist.

        Raises:
            Forbidden: the tool is not allowed.
        """
        if not tool_allowed(self.claims.tools, tool_name):
            raise Forbidden(
                f"tool {tool_name!r} is not allowed by this token's 'tools' claim",
                code="tool_not_allowed",
            )
