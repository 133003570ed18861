"""Request ids, structured access logs and Prometheus metrics, as one ASGI middleware.

It wraps every face (the Quart routes, ``/mcp``, ``/acp``) so each response carries
``x-request-id`` and is counted, whichever face served it. Access log lines are JSON with the
method, the path (never the query string, which could hold a key), status, duration and request
id — never headers, so never a token.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from gateway.metrics import Metrics

__all__ = ["REQUEST_ID_KEY", "ObserveMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REQUEST_ID_KEY = "bitrouter.request_id"
_ALLOWED_ID = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:")
_log = logging.getLogger("bitrouter.access")


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id" and 0 < len(value) <= 128:
            text: str = value.decode("latin-1")
            if set(text) <= _ALLOWED_ID:
                return text
    return "req_" + secrets.token_hex(12)


class ObserveMiddleware:
    """ASGI middleware adding request ids, access logs and metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics, routes: frozenset[str], log: bool) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes
        self.log = log

    def _route(self, path: str) -> str:
        if path in self.routes:
            return path
        for prefix in ("/mcp", "/acp"):
            if path.startswith(prefix):
                return prefix
        return "unmatched"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _request_id(scope)
        scope[REQUEST_ID_KEY] = rid
        started = time.perf_counter()
        status = 500
        header = (b"x-request-id", rid.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route, code = self._route(scope["path"]), str(status)
            self.metrics.requests.labels(route, scope["method"], code).inc()
            self.metrics.latency.labels(route, code).observe(elapsed)
            if self.log and _log.isEnabledFor(logging.INFO):
                _log.info(json.dumps({
                    "request_id": rid, "method": scope["method"], "path": scope["path"],
                    "status": status, "ms": round(elapsed * 1000, 3),
                }))
