"""Token verification for every face: one implementation, with a verified-token cache.

Order (specs/auth.md): size, structure, algorithm, issuer, algorithm/namespace, signature,
claims, expiry, revocation, access policy, scope. The cache keeps only the outcome of the
pure steps (parsing and the signature); expiry, revocation, policy and scope are checked on
every call, so a cached token is never served after it expires or is revoked.
"""

from __future__ import annotations

from collections import OrderedDict

from gateway.errors import AuthError, Forbidden
from gateway.identity._claims import Scope
from gateway.identity._clock import Clock, SystemClock
from gateway.identity._jwt import TokenCodec, token_hash
from gateway.identity._policy import AccessPolicy
from gateway.identity._principal import Principal
from gateway.identity._revocation import RevocationStore
from gateway.settings import AuthSettings

__all__ = ["Verifier", "bearer_token"]

_SCOPE_USE = {"api": "model, tool and agent calls", "admin": "management routes"}


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header value.

    Raises:
        AuthError: the header is missing or not a bearer token.
    """
    if not authorization:
        raise AuthError("missing Authorization: Bearer token", code="missing_token")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("Authorization header must be 'Bearer <token>'", code="missing_token")
    return token.strip()


class Verifier:
    """Turns a bearer token into a :class:`Principal`, or refuses it."""

    def __init__(
        self,
        settings: AuthSettings,
        policy: AccessPolicy,
        revocations: RevocationStore,
        *,
        clock: Clock | None = None,
    ) -> None:
        self._max_bytes = settings.max_token_bytes
        self._cache_size = settings.token_cache_size
        self._cache: OrderedDict[str, tuple[Principal, str]] = OrderedDict()
        self._codec = TokenCodec()
        self._policy = policy
        self._revocations = revocations
        self._clock = clock or SystemClock()

    @property
    def cached_tokens(self) -> int:
        """How many verified tokens the cache holds now."""
        return len(self._cache)

    async def verify(self, token: str, *, scope: Scope) -> Principal:
        """The principal of a token that is valid here and has exactly ``scope``.

        Raises:
            AuthError: malformed, badly signed, expired or revoked (401).
            Forbidden: wrong scope, or an issuer the access policy refuses (403).
        """
        if len(token) > self._max_bytes:
            raise AuthError(f"token is larger than {self._max_bytes} bytes", code="token_too_large")
        if not token.isascii():
            # Before hashing: a JSON-RPC face can hand over lone surrogates, which UTF-8 refuses.
            raise AuthError("token contains non-ASCII characters")
        digest = token_hash(token)
        cached = self._cache.get(digest)
        if cached is None:
            principal, key = self._verify_signature(token, digest)
        else:
            self._cache.move_to_end(digest)
            principal, key = cached
        exp = principal.claims.exp
        if exp is not None and not self._clock.now() < exp:
            self._cache.pop(digest, None)
            raise AuthError("token has expired", code="token_expired")
        if cached is None and self._cache_size:
            self._cache[digest] = (principal, key)
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        if await self._revocations.is_revoked(key):
            raise AuthError("token has been revoked", code="token_revoked")
        await self._policy.check(principal)
        if principal.scope != scope:
            raise Forbidden(
                f"a token of scope '{principal.scope}' cannot be used for {_SCOPE_USE[scope]}",
                code="wrong_scope",
            )
        return principal

    def _verify_signature(self, token: str, digest: str) -> tuple[Principal, str]:
        verified = self._codec.verify(token, max_bytes=self._max_bytes)
        claims, account = verified.claims, verified.account
        if claims.scope == "admin" and claims.exp is None:
            raise AuthError("admin tokens must carry 'exp'")
        principal = Principal(
            identity=account.caip10,
            namespace=account.namespace,
            chain=account.chain,
            address=account.address,
            scope=claims.scope,
            claims=claims,
            token_hash=digest,
            agent=claims.agent,
        )
        return principal, principal.revocation_key

    def check_model(self, principal: Principal, model_id: str) -> None:
        """Refuse a model outside the token's ``models`` allowlist (see Principal.check_model)."""
        principal.check_model(model_id)

    def check_tool(self, principal: Principal, tool_name: str) -> None:
        """Refuse a tool outside the token's ``tools`` allowlist (see Principal.check_tool)."""
        principal.check_tool(tool_name)
