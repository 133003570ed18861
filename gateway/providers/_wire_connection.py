"""One pooled HTTP/1.1 connection and the response read off it (RFC 9112).

A response's head is parsed from the connection's buffer; its body is framed by
``Content-Length``, the chunked transfer coding or the connection's close, and handed out in
the pieces that arrive (``async for``) or whole (``read()``). ``aclose()`` returns the
connection to its pool when the body was read to its end and the server keeps it alive;
otherwise the connection is closed. Failures are :class:`WireError`\\ s, which never leave
``gateway.providers``: the upstream adapters turn them into ``UpstreamFailure``.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Hashable
from typing import Literal

import trio

__all__ = [
    "ConnectError",
    "ConnectTimeout",
    "Connection",
    "PoolTimeout",
    "ReadError",
    "ReadTimeout",
    "RemoteProtocolError",
    "WireError",
    "WireResponse",
    "WireTimeout",
    "WriteError",
    "read_response",
]

_READ_SIZE = 65536
_MAX_HEAD = 64 * 1024
_MAX_LINE = 8 * 1024
_HEX = frozenset(b"0123456789abcdefABCDEF")

Framing = Literal["length", "chunked", "close", "none"]


class WireError(Exception):
    """The connection to an upstream failed or it broke HTTP/1.1 (internal to providers)."""


class WireTimeout(WireError):
    """A connect, pool or read deadline passed."""


class ConnectError(WireError):
    """The connection could not be opened (refused, unreachable, DNS, TLS)."""


class ConnectTimeout(WireTimeout):
    """The connection was not open within the connect timeout."""


class PoolTimeout(WireTimeout):
    """Every connection the pool may open is in use, for longer than the connect timeout."""


class ReadError(WireError):
    """The connection broke while reading."""


class ReadTimeout(WireTimeout):
    """Nothing arrived within the read timeout."""


class WriteError(WireError):
    """The connection broke while sending the request."""


class RemoteProtocolError(WireError):
    """The server's answer is not valid HTTP/1.1, or it closed the connection too early."""


class Connection:
    """A socket stream (plain or TLS) with its read buffer."""

    __slots__ = ("buffer", "idle_since", "key", "socket", "stream")

    def __init__(self, stream: trio.abc.Stream, socket: trio.socket.SocketType, key: Hashable):
        self.stream = stream
        self.socket = socket  # the TCP socket under the stream (also under TLS)
        self.key = key
        self.buffer = bytearray()
        self.idle_since = 0.0

    async def send(self, data: bytes) -> None:
        """Send all of ``data``."""
        try:
            await self.stream.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            raise WriteError(str(exc) or type(exc).__name__) from None

    async def receive(self, timeout: float | None) -> bytes | bytearray:
        """The next bytes that arrive (``b""`` when the server closed the connection)."""
        try:
            if timeout is None:
                return await self.stream.receive_some(_READ_SIZE)
            with trio.fail_after(timeout):
                return await self.stream.receive_some(_READ_SIZE)
        except trio.TooSlowError:
            raise ReadTimeout(f"nothing arrived within {timeout:g}s") from None
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            raise ReadError(str(exc) or type(exc).__name__) from None

    def close(self) -> None:
        """Close at once (no TLS close_notify: the connection is dropped, not reused)."""
        self.socket.close()


def _parse_head(head: bytes) -> tuple[int, bool, list[tuple[bytes, bytes]]]:
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or len(parts[1]) != 3:
        raise RemoteProtocolError("the server's status line is not HTTP/1.x")
    try:
        status = int(parts[1])
    except ValueError:
        raise RemoteProtocolError("the server's status code is not a number") from None
    headers: list[tuple[bytes, bytes]] = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name[-1:] in (b" ", b"\t") or name[:1] in (b" ", b"\t"):
            raise RemoteProtocolError("the server sent a malformed header line")
        headers.append((name.lower(), value.strip(b" \t")))
    return status, parts[0] == b"HTTP/1.1", headers


def _framing(
    status: int, http11: bool, headers: list[tuple[bytes, bytes]]
) -> tuple[Framing, int, bool, bytes]:
    coding = length = b""
    tokens: list[bytes] = []
    encoding = b""
    for name, value in headers:
        if name == b"transfer-encoding":
            coding = value.lower()
        elif name == b"content-length":
            if length and value != length:
                raise RemoteProtocolError("the server sent conflicting Content-Length headers")
            length = value
        elif name == b"connection":
            tokens.extend(t.strip().lower() for t in value.split(b","))
        elif name == b"content-encoding":
            encoding = value.strip().lower()
    keep_alive = http11 and b"close" not in tokens
    if status in (204, 304):
        return "none", 0, keep_alive, b""
    if coding:
        # RFC 9112 §6.3: chunked wins over Content-Length, and such a message ends the connection
        # if both were sent; any other coding means the body ends with the connection.
        chunked = coding.rsplit(b",", 1)[-1].strip() == b"chunked"
        return (
            ("chunked" if chunked else "close"),
            0,
            keep_alive and chunked and not length,
            encoding,
        )
    if length:
        if not length.isdigit():
            raise RemoteProtocolError("the server's Content-Length is not a number")
        return "length", int(length), keep_alive, encoding
    return "close", 0, False, encoding


def _decoder(encoding: bytes) -> zlib._Decompress | None:
    if encoding in (b"", b"identity"):
        return None
    if encoding in (b"gzip", b"x-gzip", b"deflate"):
        # wbits 47 reads gzip and zlib streams alike (servers label zlib data "deflate").
        return zlib.decompressobj(wbits=47)
    raise RemoteProtocolError(f"the server used an unsupported content-encoding {encoding!r}")


class WireResponse:
    """A response whose body has not been read yet; always ``aclose()`` it."""

    def __init__(
        self,
        conn: Connection,
        release: Callable[[Connection, bool], None],
        status: int,
        http11: bool,
        headers: list[tuple[bytes, bytes]],
        read_timeout: float | None,
        decode: bool = True,
    ) -> None:
        self.status = status
        self.headers = headers
        self._conn = conn
        self._release = release
        self._timeout = read_timeout
        framing, length, keep_alive, encoding = _framing(status, http11, headers)
        self._framing: Framing = framing
        self._left = length  # bytes left of the body ("length") or of the chunk ("chunked")
        self._keep_alive = keep_alive
        self._decoder = _decoder(encoding) if decode else None
        self._chunk_state: Literal["size", "data", "crlf", "trailer"] = "size"
        self._done = framing == "none" or (framing == "length" and length == 0)
        self._closed = False

    def __aiter__(self) -> WireResponse:
        return self

    async def __anext__(self) -> bytes:
        while True:
            if self._done or self._closed:
                raise StopAsyncIteration
            part = await self._next()
            if self._decoder is not None:
                part = self._decoder.decompress(part)
                if self._done:
                    part += self._decoder.flush()
            if part:
                return part

    async def read(self) -> bytes:
        """The whole body."""
        buffer = self._conn.buffer
        if self._framing == "length" and self._decoder is None and len(buffer) >= self._left:
            body = bytes(buffer[: self._left])
            del buffer[: self._left]
            self._left = 0
            self._done = True
            return body
        return b"".join([part async for part in self])

    async def aclose(self) -> None:
        """Give the connection back to the pool (body fully read) or close it."""
        if not self._closed:
            self._closed = True
            self._release(self._conn, self._done and self._keep_alive)
        await trio.lowlevel.checkpoint()

    async def _more(self) -> None:
        data = await self._conn.receive(self._timeout)
        if not data:
            raise RemoteProtocolError("the server closed the connection before the body ended")
        self._conn.buffer += data

    async def _next(self) -> bytes:
        buffer = self._conn.buffer
        if self._framing == "length":
            if not buffer:
                await self._more()
            part = bytes(buffer[: self._left])
            del buffer[: len(part)]
            self._left -= len(part)
            self._done = self._left == 0
            return part
        if self._framing == "close":
            if buffer:
                part = bytes(buffer)
                buffer.clear()
                return part
            data = await self._conn.receive(self._timeout)
            self._done = not data
            return bytes(data)
        return await self._next_chunks()

    async def _next_chunks(self) -> bytes:
        """The data of every chunk already in the buffer (at least one byte, or the end)."""
        buffer = self._conn.buffer
        pieces: list[bytes] = []
        while True:
            state = self._chunk_state
            if state == "data":
                if not buffer:
                    if pieces:
                        break
                    await self._more()
                piece = bytes(buffer[: self._left])
                del buffer[: len(piece)]
                pieces.append(piece)
                self._left -= len(piece)
                if self._left:
                    break
                self._chunk_state = "crlf"
            elif state == "crlf":
                if len(buffer) < 2:
                    if pieces:
                        break
                    await self._more()
                    continue
                if buffer[:2] != b"\r\n":
                    raise RemoteProtocolError("a chunk of the server's body is not terminated")
                del buffer[:2]
                self._chunk_state = "size"
            else:
                end = buffer.find(b"\r\n")
                if end < 0:
                    if len(buffer) > _MAX_LINE:
                        raise RemoteProtocolError("the server sent an overlong chunk line")
                    if pieces:
                        break
                    await self._more()
                    continue
                line = bytes(buffer[:end])
                del buffer[: end + 2]
                if state == "trailer":
                    if not line:
                        self._done = True
                        break
                    continue
                size = line.partition(b";")[0].strip()
                if not size or not set(size) <= _HEX:
                    raise RemoteProtocolError("the server sent a malformed chunk size")
                self._left = int(size, 16)
                self._chunk_state = "data" if self._left else "trailer"
        return b"".join(pieces) if len(pieces) != 1 else pieces[0]


async def read_response(
    conn: Connection,
    release: Callable[[Connection, bool], None],
    *,
    head_timeout: float | None,
    read_timeout: float | None,
    decode: bool = True,
) -> WireResponse:
    """Read a response's head (skipping interim 1xx responses) off ``conn``."""
    buffer = conn.buffer
    while True:
        start = 0
        while (end := buffer.find(b"\r\n\r\n", start)) < 0:
            if len(buffer) > _MAX_HEAD:
                raise RemoteProtocolError("the server's response head is too large")
            start = max(0, len(buffer) - 3)
            data = await conn.receive(head_timeout)
            if not data:
                raise RemoteProtocolError("the server closed the connection without a response")
            buffer += data
        status, http11, headers = _parse_head(bytes(buffer[:end]))
        del buffer[: end + 4]
        if status >= 200:
            return WireResponse(conn, release, status, http11, headers, read_timeout, decode)
        if status == 101:
            raise RemoteProtocolError("the server switched protocols")
