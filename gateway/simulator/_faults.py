"""Responses that go wrong on purpose, and the ASGI hook that lets them break a connection.

hypercorn answers 500 for an app that ends before starting a response, so a connection can
only be broken after the status line: a response marked with :data:`ABORT_HEADER` has its
closing body message swallowed, hypercorn sees the app finish mid-body and drops the
connection. Its client reads a truncated chunked body: a transport error (httpx raises
``RemoteProtocolError``), never a clean response.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import orjson
import trio
from quart import Response

from gateway.simulator._wire import Wire

__all__ = [
    "ABORT_HEADER",
    "SIMULATOR_HEADER",
    "broken_response",
    "error_response",
    "event_stream",
    "json_response",
    "mark_responses",
]

SIMULATOR_HEADER = "x-bitrouter-simulator"
ABORT_HEADER = "x-bitrouter-simulator-abort"
_SSE = "text/event-stream; charset=utf-8"

Send = Callable[[Any], Awaitable[None]]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response."""
    return Response(orjson.dumps(body), status, headers, content_type="application/json")


def error_response(
    wire: Wire, status: int, message: str, *, retry_after: int | None = None
) -> Response:
    """An error in ``wire``'s shape; a 429 carries ``retry-after``."""
    headers = {"retry-after": str(retry_after)} if retry_after is not None else None
    return json_response(wire.error(status, message), status, headers)


async def _paced(chunks: Sequence[bytes], delay_seconds: float) -> AsyncIterator[bytes]:
    for index, chunk in enumerate(chunks):
        if index and delay_seconds:
            await trio.sleep(delay_seconds)
        yield chunk


def event_stream(events: Sequence[bytes], delay_seconds: float) -> Response:
    """An SSE response sending ``events`` with ``delay_seconds`` between them."""
    response = Response(_paced(events, delay_seconds), content_type=_SSE)
    response.headers["cache-control"] = "no-cache"
    return response


def broken_response(chunks: Sequence[bytes], content_type: str, delay_seconds: float) -> Response:
    """A 200 that sends ``chunks`` and then breaks the connection (``reset`` and ``cut``)."""
    response = Response(_paced(chunks, delay_seconds), content_type=content_type)
    response.headers[ABORT_HEADER] = "1"
    return response


def mark_responses(send: Send) -> Send:
    """Wrap an ASGI ``send``: label every response, and break the marked ones."""
    aborting = False

    async def marked_send(message: Any) -> None:
        nonlocal aborting
        if message["type"] == "http.response.start":
            headers = [
                (k, v) for k, v in message.get("headers", []) if k.lower() != ABORT_HEADER.encode()
            ]
            aborting = len(headers) != len(message.get("headers", []))
            headers.append((SIMULATOR_HEADER.encode(), b"1"))
            message = {**message, "headers": headers}
        elif message["type"] == "http.response.body" and aborting and not message.get("more_body"):
            return
        await send(message)

    return marked_send
