"""Small ASGI pieces the faces share (``/v1`` routes, ``/mcp``, ``/acp``): the callable types,
headers, bodies, errors in the OpenAI shape, and the lifespan answer of a face served alone."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

import orjson

from gateway.errors import AuthError, GatewayError, PayloadTooLarge

__all__ = [
    "ASGIApp",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "answer_lifespan",
    "header",
    "query_value",
    "read_body",
    "send_error",
    "send_json",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def header(scope: Scope, name: str) -> str | None:
    """The value of request header ``name`` (case-insensitive), if present."""
    wanted = name.lower().encode("latin-1")
    for key, value in scope.get("headers", ()):
        if key.lower() == wanted:
            return bytes(value).decode("latin-1")
    return None


def query_value(scope: Scope, name: str) -> str | None:
    """The first value of query parameter ``name``, if present."""
    values = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1")).get(name)
    return values[0] if values else None


async def read_body(receive: Receive, limit: int) -> bytes:
    """The request body.

    Raises:
        PayloadTooLarge: it is longer than ``limit`` bytes.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge("the request body is larger than the server accepts")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def send_json(
    send: Send, status: int, body: Any, headers: dict[str, str] | None = None
) -> None:
    """A complete JSON response (an empty body when ``body`` is None)."""
    payload = orjson.dumps(body) if body is not None else b""
    raw = [(b"content-length", str(len(payload)).encode())]
    if body is not None:
        raw.append((b"content-type", b"application/json"))
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


async def send_error(send: Send, error: GatewayError) -> None:
    """An HTTP error response in the OpenAI shape."""
    headers = dict(error.headers())
    if isinstance(error, AuthError):
        headers["www-authenticate"] = 'Bearer realm="bitrouter"'
    await send_json(send, error.status, error.to_openai(), headers)


async def answer_lifespan(receive: Receive, send: Send) -> None:
    """Answer ``lifespan``: only the top-level app gets it, but a face may also be served on its
    own (tests, a dedicated process)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
