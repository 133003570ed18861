"""A bare HTTP/1.1 client for the end-to-end tests: h11 over a trio socket, one connection a
request.

A thousand concurrent requests through httpx cost the test process more CPU than the gateways
under test get on a small machine, and the point of these tests is the gateways' behaviour.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import h11
import orjson
import trio


@dataclass(frozen=True)
class Reply:
    """One HTTP response as the load client read it."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON."""
        return orjson.loads(self.body)

    def events(self) -> list[dict[str, Any]]:
        """The ``data:`` events of an SSE body, without ``[DONE]``."""
        found = []
        for line in self.body.split(b"\n"):
            if line.startswith(b"data: ") and line != b"data: [DONE]":
                found.append(orjson.loads(line[6:]))
        return found

    @property
    def done(self) -> bool:
        """Whether an SSE body ended with ``[DONE]``."""
        return self.body.rstrip().endswith(b"data: [DONE]")


async def post(
    base: str, path: str, token: str, body: Any, headers: Mapping[str, str] | None = None
) -> Reply:
    """``POST`` JSON over a fresh connection (closed after the response)."""
    return await request(base, "POST", path, token, orjson.dumps(body), headers)


async def request(
    base: str,
    method: str,
    path: str,
    token: str,
    data: bytes = b"",
    headers: Mapping[str, str] | None = None,
) -> Reply:
    """One request over a fresh HTTP/1.1 connection (``connection: close``). An
    ``x-request-id`` header becomes the ledger entry's request id."""
    url = urlsplit(base)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    conn = h11.Connection(h11.CLIENT)
    sent = [
        ("host", f"{host}:{port}"),
        ("authorization", f"Bearer {token}"),
        ("connection", "close"),
        ("content-length", str(len(data))),
        *(headers or {}).items(),
    ]
    if data:
        sent.append(("content-type", "application/json"))
    stream = await trio.open_tcp_stream(host, port)
    async with stream:
        await stream.send_all(conn.send(h11.Request(method=method, target=path, headers=sent)))
        await stream.send_all(conn.send(h11.Data(data=data)) + conn.send(h11.EndOfMessage()))
        status, got, chunks = 0, {}, []
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await stream.receive_some(65536))
            elif isinstance(event, h11.Response):
                status = event.status_code
                got = {k.decode(): v.decode() for k, v in event.headers}
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                break
    return Reply(status, got, b"".join(chunks))


class EventStream:
    """An SSE response read event by event; leaving ``open_events`` closes the connection."""

    def __init__(self, stream: trio.SocketStream, conn: h11.Connection, status: int) -> None:
        self._stream = stream
        self._conn = conn
        self.status = status
        self._buffer = b""
        self._ended = False
        self.ended_cleanly = False  # ``[DONE]`` arrived

    async def _more(self) -> bool:
        while True:
            event = self._conn.next_event()
            if event is h11.NEED_DATA:
                self._conn.receive_data(await self._stream.receive_some(65536))
            elif isinstance(event, h11.Data):
                self._buffer += bytes(event.data)
                return True
            else:
                return False

    async def next(self) -> dict[str, Any] | None:
        """The next ``data:`` event, or None at ``[DONE]`` or the end of the body."""
        while True:
            line, sep, rest = self._buffer.partition(b"\n\n")
            if sep:
                self._buffer = rest
                if line == b"data: [DONE]":
                    self.ended_cleanly = True
                    return None
                if line.startswith(b"data: "):
                    event: dict[str, Any] = orjson.loads(line[6:])
                    return event
                continue
            if self._ended or not await self._more():
                self._ended = True
                return None


@asynccontextmanager
async def open_events(
    base: str, path: str, token: str, body: dict[str, Any], request_id: str
) -> AsyncIterator[EventStream]:
    """``POST`` a streamed request; read its events; leaving the block drops the connection."""
    url = urlsplit(base)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    data = orjson.dumps(body)
    conn = h11.Connection(h11.CLIENT)
    headers = [
        ("host", f"{host}:{port}"),
        ("authorization", f"Bearer {token}"),
        ("content-type", "application/json"),
        ("content-length", str(len(data))),
        ("x-request-id", request_id),
    ]
    stream = await trio.open_tcp_stream(host, port)
    async with stream:
        await stream.send_all(conn.send(h11.Request(method="POST", target=path, headers=headers)))
        await stream.send_all(conn.send(h11.Data(data=data)) + conn.send(h11.EndOfMessage()))
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await stream.receive_some(65536))
            elif isinstance(event, h11.Response):
                break
        yield EventStream(stream, conn, event.status_code)
