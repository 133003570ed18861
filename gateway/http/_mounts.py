"""The faces that are not Quart routes, mounted beside them: ``/mcp`` and ``/acp``.

Hypercorn sends lifespan events only to the top app, so the mounted faces are started by the
runtime (in the app's nursery), and here only HTTP and WebSocket requests are dispatched.
"""

from __future__ import annotations

from quart import Quart

from gateway.asgi import ASGIApp, Receive, Scope, Send

__all__ = ["Mounts"]


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


class Mounts:
    """Dispatch ``/mcp`` and ``/acp`` to their faces; everything else to the Quart app."""

    def __init__(self, app: Quart, quart_asgi: ASGIApp) -> None:
        self.app = app
        self.quart_asgi = quart_asgi

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            path = scope["path"]
            runtime = self.app.extensions.get("bitrouter")
            if runtime is not None:
                if _under(path, "/mcp"):
                    await runtime.mcp.asgi(scope, receive, send)
                    return
                acp = getattr(runtime, "acp", None)
                if acp is not None and _under(path, "/acp"):
                    await acp.asgi(scope, receive, send)
                    return
        await self.quart_asgi(scope, receive, send)
