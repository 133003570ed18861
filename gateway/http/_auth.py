"""Who is calling: the bearer token (or ``x-api-key``) of the current request, verified."""

from __future__ import annotations

from typing import Literal

from quart import request

from gateway.errors import AuthError
from gateway.http._state import runtime
from gateway.identity import Principal, bearer_token, read_unverified

__all__ = ["authenticate", "authenticate_any", "authorization_token"]


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


async def authenticate_any() -> Principal:
    """The verified caller, with either scope (views where admins see more than callers)."""
    token = authorization_token(
        request.headers.get("authorization"), request.headers.get("x-api-key")
    )
    try:
        scope = read_unverified(token)[1].get("scope")
    except AuthError:
        scope = "api"  # verify() then says precisely what is wrong with the token
    return await runtime().verifier.verify(token, scope="admin" if scope == "admin" else "api")
