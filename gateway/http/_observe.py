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
from typing import Any

from gateway.asgi import ASGIApp, Message, Receive, Scope, Send
from gateway.metrics import Metrics

__all__ = ["REQUEST_ID_KEY", "ObserveMiddleware"]


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


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


async def _too_large(send: Send) -> None:
    body = json.dumps(
        {
            "error": {
                "message": "the request body is larger than the server accepts",
                "type": "invalid_request_error",
                "code": "payload_too_large",
                "param": None,
            }
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class ObserveMiddleware:
    """ASGI middleware adding request ids, access logs and metrics."""

    def __init__(
        self, app: ASGIApp, metrics: Metrics, routes: frozenset[str], log: bool, max_body: int
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes
        self.log = log
        self.max_body = max_body
        # The labelled children, looked up once per (route, method, status): prometheus's
        # labels() takes a lock and builds a key on every call.
        self._children: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    def _count(self, route: str, method: str, code: str, elapsed: float) -> None:
        key = (route, method, code)
        children = self._children.get(key)
        if children is None:
            children = (
                self.metrics.requests.labels(route, method, code),
                self.metrics.latency.labels(route, code),
            )
            if len(self._children) < 1024:  # methods are the client's: keep the cache bounded
                self._children[key] = children
        children[0].inc()
        children[1].observe(elapsed)

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
        body_done = scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE")

        async def receive_tracking() -> Message:
            nonlocal body_done
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                extra = [header]
                if not body_done:
                    # Answered before the body was read (a refusal, a too-large body): the
                    # unread rest would block the connection, so it must not be reused.
                    extra.append((b"connection", b"close"))
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        try:
            if _declared_length(scope) > self.max_body:
                await _too_large(send_with_id)
            else:
                await self.app(scope, receive_tracking, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            self._count(self._route(scope["path"]), scope["method"], str(status), elapsed)
            if self.log and _log.isEnabledFor(logging.INFO):
                _log.info(
                    json.dumps(
                        {
                            "request_id": rid,
                            "method": scope["method"],
                            "path": scope["path"],
                            "status": status,
                            "ms": round(elapsed * 1000, 3),
                        }
                    )
                )
