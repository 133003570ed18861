"""What the ACP face needs from the rest of the gateway, as small Protocols.

The face never builds these services; the composition root injects them (the real verifier,
the ledger's spending guard, the identity layer's session tokens), and tests inject doubles.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from gateway.identity import Principal

__all__ = ["Authenticate", "HoldT", "SessionToken", "SpendGuard"]

HoldT = TypeVar("HoldT")

Authenticate = Callable[[str | None], Awaitable[Principal]]
"""``authenticate(authorization_header)``: the caller, or AuthError (401) / Forbidden (403)."""

SessionToken = Callable[[Principal], Awaitable[str]]
"""``session_token(principal)``: a short-lived bearer token scoped to the caller (its identity,
its allowlists and what remains of its budget), handed to the caller's agent process."""


class SpendGuard(Protocol[HoldT]):
    """Reserve before a paid turn, then charge its price or release it (amounts in µUSD)."""

    async def reserve(
        self,
        principal: Principal,
        *,
        kind: str,
        subject: str,
        amount: int,
        tokens: int,
        request_id: str,
    ) -> HoldT:
        """Hold ``amount`` against every limit of the caller.

        Raises:
            SpendingError: a limit refuses it (402); nothing was held.
        """
        ...

    async def settle(self, hold: HoldT, cost: int, usage: dict[str, Any]) -> None:
        """Charge ``cost`` (at most the held amount), release the rest, record ``usage``."""
        ...

    async def cancel(self, hold: HoldT, usage: dict[str, Any] | None) -> None:
        """Release the hold without charging (the turn did not complete)."""
        ...
