"""The ASGI front of ``/mcp``: the caller is verified before the MCP machinery sees a byte.

An unauthenticated request gets a real HTTP 401 with ``WWW-Authenticate: Bearer`` and the
OpenAI error body (clients, proxies and the SDK's auth flow all understand a 401; a JSON-RPC
error inside a 200 would not be). The verified principal travels in the ASGI scope.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from gateway.errors import AuthError, GatewayError
from gateway.mcp._ports import Authenticate

__all__ = ["PRINCIPAL_KEY", "ASGIApp", "Gate", "Receive", "Scope", "Send", "send_error"]

PRINCIPAL_KEY = "bitrouter.principal"
"""Where the verified caller travels in the ASGI scope (the SDK's handlers read it there)."""

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def send_error(send: Send, error: GatewayError) -> None:
    """An HTTP error response in the OpenAI shape."""
    body = orjson.dumps(error.to_openai())
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in error.headers().items()]
    if isinstance(error, AuthError):
        headers.append((b"www-authenticate", b'Bearer realm="bitrouter"'))
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _answer_lifespan(receive: Receive, send: Send) -> None:
    # Normally only the top-level app gets lifespan; answer it anyway so that the face can
    # also be served on its own (tests, a dedicated MCP process).
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


class Gate:
    """Verifies the bearer token, then hands the request to ``inner`` with the principal."""

    def __init__(self, authenticate: Authenticate, inner: ASGIApp) -> None:
        self._authenticate = authenticate
        self._inner = inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _answer_lifespan(receive, send)
            return
        if scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1008})
            return
        header = None
        for key, value in scope.get("headers", ()):
            if key.lower() == b"authorization":
                header = value.decode("latin-1")
                break
        try:
            principal = await self._authenticate(header)
        except GatewayError as exc:
            await send_error(send, exc)
            return
        await self._inner({**scope, PRINCIPAL_KEY: principal}, receive, send)
