"""The ASGI front of ``/mcp``: the caller is verified before the MCP machinery sees a byte.

An unauthenticated request gets a real HTTP 401 with ``WWW-Authenticate: Bearer`` and the
OpenAI error body (clients, proxies and the SDK's auth flow all understand a 401; a JSON-RPC
error inside a 200 would not be). The verified principal travels in the ASGI scope.
"""

from __future__ import annotations

from gateway.asgi import ASGIApp, Receive, Scope, Send, answer_lifespan, header, send_error
from gateway.errors import GatewayError
from gateway.mcp._ports import Authenticate

__all__ = ["PRINCIPAL_KEY", "ASGIApp", "Gate", "Receive", "Scope", "Send", "send_error"]

PRINCIPAL_KEY = "bitrouter.principal"
"""Where the verified caller travels in the ASGI scope (the SDK's handlers read it there)."""


class Gate:
    """Verifies the bearer token, then hands the request to ``inner`` with the principal."""

    def __init__(self, authenticate: Authenticate, inner: ASGIApp) -> None:
        self._authenticate = authenticate
        self._inner = inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        if scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1008})
            return
        try:
            principal = await self._authenticate(header(scope, "authorization"))
        except GatewayError as exc:
            await send_error(send, exc)
            return
        await self._inner({**scope, PRINCIPAL_KEY: principal}, receive, send)
