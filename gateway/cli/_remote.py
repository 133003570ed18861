"""Talking to a running gateway from the command line: a token and one JSON request."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from gateway.errors import GatewayError, KeystoreError, NotFound
from gateway.identity import Keystore, TokenCodec, TokenFiles, issue_claims

__all__ = ["cli_token", "request_json"]

_MINTED_SECONDS = 300  # a token minted for one command lives five minutes


def cli_token(home: Path) -> str | None:
    """The token a command sends: ``tokens/default.jwt`` if saved, else a short-lived one
    minted from the master key, else None (the gateway then decides; local auth refuses)."""
    files = TokenFiles(home)
    try:
        return files.read("default")
    except NotFound:
        pass
    keystore = Keystore(home)
    if not keystore.has_master():
        return None
    try:
        key = keystore.master()
    except KeystoreError:
        return None
    now = int(time.time())
    claims = issue_claims(key, "solana", scope="api", iat=now, exp=now + _MINTED_SECONDS)
    return TokenCodec().sign(claims, key)


def request_json(
    method: str,
    url: str,
    *,
    token: str | None,
    params: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """One request to the gateway; its JSON answer.

    Raises:
        GatewayError: the gateway is unreachable or answered with an error (its message).
    """
    headers = {"authorization": f"Bearer {token}"} if token else {}
    try:
        with httpx.Client(timeout=timeout, trust_env=False) as client:
            response = client.request(method, url, params=params, json=body, headers=headers)
    except httpx.TransportError:
        raise GatewayError(
            f"cannot reach the gateway at {url} (is `bitrouter serve` running?)"
        ) from None
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.status_code >= 400:
        error = data.get("error") if isinstance(data, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        raise GatewayError(f"HTTP {response.status_code}: {message or response.reason_phrase}")
    if not isinstance(data, dict):
        raise GatewayError(f"the gateway at {url} did not answer with a JSON object")
    return data
