"""The server's HTTP/1.1 front: the chat hot path without hypercorn's per-request machinery.

Hypercorn's protocol layer (h11 parsing and validation, tasks and events per request) costs
about as much CPU as the gateway's own work on a chat call. So every connection is read here
first. A request the front can take whole — ``POST /v1/chat/completions``, HTTP/1.1, a
Content-Length body, well-formed plain headers — goes to the same ASGI app (request ids,
metrics, FastChat) through a minimal exchange, and its response is written straight back: a
Content-Length body in one write, a stream in chunked encoding. At the first request it does
not take, the connection (with the bytes read so far) belongs to hypercorn for the rest of its
life, so every other route, WebSockets, chunked uploads, ``Expect`` and malformed requests get
hypercorn's full handling, errors included.
"""

from __future__ import annotations

import http
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from wsgiref.handlers import format_date_time

import trio

from gateway.asgi import ASGIApp, Message, Scope
from gateway.http._fastchat import CHAT_PATH

__all__ = ["Front", "Handoff", "parse_head"]

Handoff = Callable[[trio.abc.HalfCloseableStream], Awaitable[None]]

_TARGET = CHAT_PATH.encode()
_MAX_RECV = 65536
_MAX_HEAD = 16384  # a larger head goes to hypercorn, which answers it
_MAX_PIPELINED = 1 << 20  # bytes of a next request read while watching for a disconnect
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_NOT_TAKEN = frozenset({b"transfer-encoding", b"expect", b"upgrade", b"http2-settings"})
_REASONS = {status.value: status.phrase.encode() for status in http.HTTPStatus}
_log = logging.getLogger("bitrouter.http")


@dataclass(frozen=True, slots=True)
class _Request:
    headers: list[tuple[bytes, bytes]]
    length: int
    close: bool


def parse_head(head: bytes) -> _Request | None:
    """The request of ``head`` (without its blank line) if the front takes it, else None."""
    lines = head.split(b"\r\n")
    if lines[0] != b"POST " + _TARGET + b" HTTP/1.1":
        return None
    headers: list[tuple[bytes, bytes]] = []
    length: int | None = None
    close = host = False
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or _TOKEN.fullmatch(name) is None:
            return None
        value = value.strip(b" \t")
        if _BAD_VALUE.search(value) is not None:
            return None
        name = name.lower()
        if name == b"content-length":
            if length is not None or not value.isdigit() or len(value) > 12:
                return None
            length = int(value)
        elif name in _NOT_TAKEN:
            return None
        elif name == b"host":
            host = True
        elif name == b"connection":
            close = b"close" in {t.strip() for t in value.lower().split(b",")}
        headers.append((name, value))
    if length is None or not host:
        return None
    return _Request(headers, length, close)


class _Replay(trio.abc.HalfCloseableStream):
    """A socket stream whose first read returns bytes already taken from it."""

    def __init__(self, stream: trio.SocketStream, data: bytes) -> None:
        self.transport = stream
        self.socket = stream.socket
        self._data = data

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        """The replayed bytes first, then the socket's."""
        if self._data:
            data, self._data = self._data, b""
            await trio.lowlevel.checkpoint()
            return data
        return await self.transport.receive_some(max_bytes)

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        """Write to the socket."""
        await self.transport.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        """As the socket's."""
        await self.transport.wait_send_all_might_not_block()

    async def send_eof(self) -> None:
        """Half-close the socket."""
        await self.transport.send_eof()

    async def aclose(self) -> None:
        """Close the socket."""
        await self.transport.aclose()


_date: tuple[int, bytes] = (0, b"")


def _date_header() -> bytes:
    global _date
    now = int(time.time())
    if _date[0] != now:
        _date = (now, b"date: " + format_date_time(now).encode() + b"\r\n")
    return _date[1]


class _Exchange:
    """One request's ASGI ``receive`` and ``send`` over the connection."""

    def __init__(self, stream: trio.SocketStream, body: bytes, remaining: int) -> None:
        self._stream = stream
        self._body: bytes | None = body
        self.remaining = remaining  # body bytes still on the socket
        self.extra = bytearray()  # bytes after the body (a pipelined request)
        self.gone = False  # the client went away
        self.done = False  # the response is complete
        self.close = False  # the response asked for the connection to close
        self.started = False
        self._status = 500
        self._headers: list[tuple[bytes, bytes]] = []
        self._chunked = False

    async def _read(self) -> bytes:
        try:
            data = await self._stream.receive_some(_MAX_RECV)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            data = b""
        if not data:
            self.gone = True
        return data

    async def receive(self) -> Message:
        """The body (as it arrives), then ``http.disconnect`` when the client goes away."""
        if self._body is not None:
            body, self._body = self._body, None
            return {"type": "http.request", "body": body, "more_body": self.remaining > 0}
        if self.remaining > 0 and not self.gone:
            data = await self._read()
            if data:
                part = data[: self.remaining]
                self.extra += data[self.remaining :]
                self.remaining -= len(part)
                return {"type": "http.request", "body": part, "more_body": self.remaining > 0}
        while not self.gone and not self.done:
            if len(self.extra) > _MAX_PIPELINED:
                await trio.sleep_forever()  # the rest waits until this response is written
            self.extra += await self._read()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        """Write the response: the head with the first body part, then the parts."""
        kind = message["type"]
        if kind == "http.response.start":
            self._status = message["status"]
            self._headers = list(message.get("headers", ()))
            return
        if kind != "http.response.body" or self.done:
            return
        body: bytes = message.get("body", b"")
        more: bool = message.get("more_body", False)
        out = bytearray()
        if not self.started:
            self.started = True
            out += self._head(len(body) if not more else None)
        if self._chunked:
            if body:
                out += b"%x\r\n" % len(body) + body + b"\r\n"
            if not more:
                out += b"0\r\n\r\n"
        else:
            out += body
        self.done = not more
        if self.gone:
            return  # as hypercorn: the body of a client that left is dropped
        try:
            await self._stream.send_all(out)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            self.gone = True

    def _head(self, length: int | None) -> bytearray:
        reason = _REASONS.get(self._status, b"")
        out = bytearray(b"HTTP/1.1 %d %s\r\n" % (self._status, reason))
        sized = False
        for name, value in self._headers:
            lowered = name.lower()
            if lowered == b"content-length":
                sized = True
            elif lowered == b"connection" and b"close" in value.lower():
                self.close = True
            out += name + b": " + value + b"\r\n"
        if not sized:
            if length is None:
                self._chunked = True
                out += b"transfer-encoding: chunked\r\n"
            else:
                out += b"content-length: %d\r\n" % length
        out += _date_header() + b"\r\n"
        return out


class Front:
    """Serves connections: hot-path requests here, the rest of a connection by ``handoff``."""

    def __init__(
        self, app: ASGIApp, handoff: Handoff, *, state: dict[str, Any], keep_alive: float
    ) -> None:
        self._app = app
        self._handoff = handoff
        self._state = state
        self._keep_alive = keep_alive
        self._idle: set[trio.CancelScope] = set()
        self._closing = False

    def close_idle(self) -> None:
        """Shutting down: close connections waiting for a request; no new request is read."""
        self._closing = True
        for scope in self._idle:
            scope.cancel()

    async def _more(self, stream: trio.SocketStream, buffer: bytearray) -> bool:
        """Read into ``buffer``; False when the client has closed or the connection is idle."""
        with trio.move_on_after(self._keep_alive) as idle:
            self._idle.add(idle)
            try:
                data = await stream.receive_some(_MAX_RECV)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                data = b""
            finally:
                self._idle.discard(idle)
        if idle.cancelled_caught or not data:
            return False
        buffer += data
        return True

    async def serve(self, stream: trio.SocketStream) -> None:
        """One connection, until it closes or is handed over."""
        try:
            client = _address(stream.socket.getpeername())
            server = _address(stream.socket.getsockname())
        except OSError:
            await stream.aclose()
            return
        buffer = bytearray()
        handoff = False
        try:
            while not self._closing:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    if len(buffer) > _MAX_HEAD:
                        handoff = True  # hypercorn answers an oversized head
                        break
                    if not await self._more(stream, buffer):
                        return
                    continue
                request = parse_head(bytes(buffer[:end]))
                if request is None:
                    handoff = True
                    break
                start = end + 4
                body = bytes(buffer[start : start + request.length])
                del buffer[: start + len(body)]
                exchange = _Exchange(stream, body, request.length - len(body))
                await self._exchange(exchange, request, client, server)
                buffer += exchange.extra
                if not exchange.done or exchange.remaining or exchange.gone or exchange.close:
                    return
                if request.close:
                    return
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return
        finally:
            if not handoff:
                await _close(stream)
        await self._handoff(_Replay(stream, bytes(buffer)))

    async def _exchange(
        self,
        exchange: _Exchange,
        request: _Request,
        client: tuple[str, int] | None,
        server: tuple[str, int] | None,
    ) -> None:
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": CHAT_PATH,
            "raw_path": _TARGET,
            "query_string": b"",
            "root_path": "",
            "headers": request.headers,
            "client": client,
            "server": server,
            "extensions": {},
            "state": self._state.copy(),
        }
        try:
            await self._app(scope, exchange.receive, exchange.send)
        except Exception as error:  # the server's last resort, as hypercorn's
            _log.error("unhandled error in the app: %s", type(error).__name__, exc_info=error)
            if not exchange.started:
                await exchange.send({"type": "http.response.start", "status": 500})
                await exchange.send({"type": "http.response.body", "body": b""})
            exchange.close = True
        if not exchange.started and not exchange.gone:
            # The app returned without a response: an empty 500, and the connection closes.
            await exchange.send({"type": "http.response.start", "status": 500})
            await exchange.send({"type": "http.response.body", "body": b""})
            exchange.close = True


def _address(address: Any) -> tuple[str, int] | None:
    if isinstance(address, tuple) and len(address) >= 2:
        return (str(address[0]), int(address[1]))
    return None


async def _close(stream: trio.SocketStream) -> None:
    with trio.CancelScope(shield=True):
        await stream.aclose()
