"""Where a client's bearer token comes from: given, made by a factory, or signed locally.

The client side never needs the gateway's server. Signing a token from the home's keystore is
the one exception: when neither a token nor a factory is given, :func:`mint_from_home` imports
``gateway.identity`` inside the call (so a client that is given a token never imports it).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from agents.client._errors import BitRouterError

__all__ = ["TokenFactory", "TokenSource", "default_home", "mint_from_home"]

TokenFactory = Callable[[], str]

_TTL_SECONDS = 3600
_REFRESH_MARGIN = 60.0  # re-sign a minute before expiry, so a request never carries a stale one
_UNKNOWN_EXPIRY_SECONDS = 300.0


def default_home() -> Path:
    """``$BITROUTER_HOME``, else ``~/.bitrouter`` (as the command line resolves it)."""
    value = os.environ.get("BITROUTER_HOME")
    return Path(value).expanduser() if value else Path.home() / ".bitrouter"


def mint_from_home(home: Path, agent: str | None = None, ttl_seconds: int = _TTL_SECONDS) -> str:
    """An ``api`` token signed by the home's master key (or by agent ``agent``'s key).

    Raises:
        BitRouterError: no such key in the home, or the gateway package is not installed.
    """
    try:
        from gateway.errors import KeystoreError
        from gateway.identity import Keystore, mint_token
    except ImportError:
        raise BitRouterError(
            "no token given, and signing one from a keystore needs the bitrouter gateway "
            "package; pass token= or token_factory="
        ) from None
    try:
        return mint_token(Keystore(home), agent=agent, ttl_seconds=ttl_seconds)
    except KeystoreError as exc:
        raise BitRouterError(f"cannot sign a token: {exc.message}") from None


def expires_at(token: str) -> float | None:
    """The ``exp`` claim of a JWT, read without checking it (only to know when to renew)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    segment = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        payload = json.loads(base64.urlsafe_b64decode(segment))
    except (binascii.Error, ValueError):
        return None
    exp = payload.get("exp") if isinstance(payload, dict) else None
    return float(exp) if isinstance(exp, int | float) else None


class TokenSource:
    """The token a client sends, renewed before it expires when the client can make one.

    Exactly one source is used, first match: ``token`` (sent as given), ``factory`` (called
    whenever a fresh token is needed), else a token signed from the keystore of ``home``
    (``$BITROUTER_HOME`` or ``~/.bitrouter`` when None), by agent ``agent``'s key if given.
    """

    def __init__(
        self,
        token: str | None = None,
        *,
        factory: TokenFactory | None = None,
        home: str | Path | None = None,
        agent: str | None = None,
    ) -> None:
        self._fixed = token
        if factory is None and token is None:
            where = Path(home).expanduser() if home is not None else default_home()
            factory = lambda: mint_from_home(where, agent)  # noqa: E731
        self._factory = factory
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = threading.Lock()

    @property
    def renews(self) -> bool:
        """Whether the token is made by the client (and so may be renewed)."""
        return self._fixed is None

    def stale(self) -> bool:
        """Whether the next request needs a new token first."""
        return self._fixed is None and (self._token is None or time.time() >= self._renew_at)

    def get(self) -> str:
        """The token to send now (signing or asking the factory when needed; may block briefly).

        Raises:
            BitRouterError: no token can be made.
        """
        if self._fixed is not None:
            return self._fixed
        with self._lock:
            if self._token is None or time.time() >= self._renew_at:
                assert self._factory is not None
                token = self._factory()
                exp = expires_at(token)
                now = time.time()
                if exp is None:
                    self._renew_at = now + _UNKNOWN_EXPIRY_SECONDS
                else:
                    self._renew_at = max(now, exp - _REFRESH_MARGIN)
                self._token = token
            return self._token
