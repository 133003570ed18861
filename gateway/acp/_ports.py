"""What the ACP face needs from the rest of the gateway, as small Protocols.

The face never builds these services; the composition root injects them (the real verifier,
the ledger's spending guard, the identity layer's session tokens), and tests inject doubles.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from gateway.identity import Principal
from gateway.metering import HoldT, SpendGuard

__all__ = ["Authenticate", "HoldT", "SessionToken", "SpendGuard"]

Authenticate = Callable[[str | None], Awaitable[Principal]]
"""``authenticate(authorization_header)``: the caller, or AuthError (401) / Forbidden (403)."""

SessionToken = Callable[[Principal], Awaitable[str]]
"""``session_token(principal)``: a short-lived bearer token scoped to the caller (its identity,
its allowlists and what remains of its budget), handed to the caller's agent process."""
