"""What the MCP face needs from the rest of the gateway, as small Protocols (and the listing
rule over the tool check).

The face never builds these services; the composition root injects them (the real verifier,
the ledger's spending guard, the router), and tests inject doubles.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from gateway.errors import Forbidden
from gateway.identity import Principal
from gateway.metering import HoldT, SpendGuard

__all__ = ["Authenticate", "CheckTool", "GatewayTools", "HoldT", "SpendGuard", "visible"]

Authenticate = Callable[[str | None], Awaitable[Principal]]
"""``authenticate(authorization_header)``: the caller, or AuthError (401) / Forbidden (403)."""

CheckTool = Callable[[Principal, str], None]
"""``check_tool(principal, tool_name)``: returns, or raises Forbidden (the token's ``tools``)."""


def visible(check_tool: CheckTool, principal: Principal, name: str) -> bool:
    """Whether the caller's token allows the tool (a forbidden tool is not listed)."""
    try:
        check_tool(principal, name)
    except Forbidden:
        return False
    return True


class GatewayTools(Protocol):
    """The gateway's own services offered as MCP tools (``chat``, ``quote``, …)."""

    async def chat(self, principal: Principal, request: dict[str, Any]) -> dict[str, Any]:
        """One chat completion through the router (charged as a model call); OpenAI shape."""
        ...

    async def quote(self, principal: Principal, request: dict[str, Any]) -> dict[str, Any]:
        """A binding price quote for a chat request."""
        ...

    async def list_models(self) -> list[dict[str, Any]]:
        """The models this gateway routes, with their prices."""
        ...

    async def balance(self, principal: Principal) -> dict[str, Any]:
        """The caller's balance, caps, spent and remaining."""
        ...
