"""Who is calling: the bearer token (or ``x-api-key``) of the current request, verified."""

from __future__ import annotations

from typing import Literal

from quart import request

from gateway.identity import Principal, bearer_token
from gateway.http._state import runtime

__all__ = ["authenticate", "authorization_token"]


def authorization_token(authorization: str | None, api_key: str | None) -> str:
    """The token of ``Authorization: Bearer …``, else of an Anthropic-style ``x-api-key``."""
    if not authorization and api_key:
        return api_key.strip()
    return bearer_token(authorization)


async def authenticate(scope: Literal["api", "admin"] = "api") -> Principal:
    """The verified caller of the current request (AuthError 401 / Forbidden 403 otherwise)."""
    token = authorization_token(
        request.headers.get("authorization"), request.headers.get("x-api-key")
    )
    return await runtime().verifier.verify(token, scope=scope)
