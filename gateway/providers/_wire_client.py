"""A lean pooled HTTP/1.1 client over trio streams: the gateway's upstream connection pool.

Why not httpx for this: one upstream call through httpx's transport (httpcore and h11 under
it) cost about 1 ms of CPU over loopback on the benchmark machine — more than the gateway's
own work on the call. This pool does what an upstream call needs and no more: connections kept
alive per origin (reused most recent first; dropped after ``keepalive_expiry`` idle, or when
the server has closed them, checked before each reuse as httpcore does), TLS with certificate
checks against certifi's CA bundle (as httpx), a bound on open connections, one request at a
time per connection. No proxies, cookies, redirects or retries — as before, when the httpx
transport ran with ``trust_env=False, retries=0``.

It is an ``httpx.AsyncBaseTransport`` too (``handle_async_request``), so code written against
httpx transports can use it; the upstream adapters call :meth:`WirePool.request` directly.
"""

from __future__ import annotations

import math
import select
import ssl
import time
from collections.abc import AsyncIterator, Callable, Hashable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import certifi
import httpx
import trio

from gateway.providers._wire_connection import (
    ConnectError,
    Connection,
    ConnectTimeout,
    PoolTimeout,
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    WireError,
    WireResponse,
    WireTimeout,
    WriteError,
    read_response,
)

__all__ = ["Origin", "WireError", "WirePool", "WireResponse", "WireTimeout", "parse_url"]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_SAFE_PATH = "/:@!$&'()*+,;=-._~%"
_SAFE_QUERY = _SAFE_PATH + "?"
_HTTPX_ERRORS: dict[type[WireError], type[httpx.TransportError]] = {
    ConnectTimeout: httpx.ConnectTimeout,
    PoolTimeout: httpx.PoolTimeout,
    ReadTimeout: httpx.ReadTimeout,
    ConnectError: httpx.ConnectError,
    ReadError: httpx.ReadError,
    WriteError: httpx.WriteError,
    RemoteProtocolError: httpx.RemoteProtocolError,
}


@dataclass(frozen=True, slots=True)
class Origin:
    """Where connections go: scheme, host and port."""

    scheme: str
    host: str
    port: int


def parse_url(url: str) -> tuple[Origin, bytes, bytes]:
    """The origin, request target and ``Host`` header value of an ``http(s)://`` URL.

    Raises:
        ValueError: not an http or https URL with a host, or it carries credentials.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in _DEFAULT_PORTS or not host:
        raise ValueError("not an http(s) URL with a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("credentials in the URL are not supported")
    explicit = parts.port
    named = f"[{host}]" if ":" in host else host
    host_header = named if explicit is None else f"{named}:{explicit}"
    target = quote(parts.path or "/", safe=_SAFE_PATH)
    if parts.query:
        target += "?" + quote(parts.query, safe=_SAFE_QUERY)
    origin = Origin(scheme, host, explicit or _DEFAULT_PORTS[scheme])
    return origin, target.encode("ascii"), host_header.encode("idna")


def _readable(sock: trio.socket.SocketType) -> bool:
    """Whether an idle connection's socket has something to read: the server's close (EOF)
    or bytes it should not have sent — either way the connection cannot be reused."""
    fd = sock.fileno()
    if fd < 0:
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


class WirePool(httpx.AsyncBaseTransport):
    """Keep-alive HTTP/1.1 connections per origin; close with ``await pool.aclose()``."""

    def __init__(
        self,
        *,
        max_connections: int = 512,
        max_idle_per_origin: int = 128,
        keepalive_expiry: float = 60.0,
        ssl_context: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._slots = trio.Semaphore(max_connections)
        self._max_idle = max_idle_per_origin
        self._expiry = keepalive_expiry
        self._ssl_context = ssl_context
        self._clock = clock
        self._idle: dict[Hashable, list[Connection]] = {}
        self._closed = False

    def _tls(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            context = ssl.create_default_context(cafile=certifi.where())
            context.set_alpn_protocols(["http/1.1"])
            self._ssl_context = context
        return self._ssl_context

    async def request(
        self,
        origin: Origin,
        data: bytes,
        *,
        connect_timeout: float | None,
        head_timeout: float | None = None,
        read_timeout: float | None = None,
        decode: bool = True,
    ) -> WireResponse:
        """Send ``data`` (a whole HTTP/1.1 request) and read the response's head.

        ``head_timeout`` bounds each read until the head has arrived, ``read_timeout`` each
        read of the body; None leaves them to the caller's deadline.

        Raises:
            WireError: ConnectError/ConnectTimeout/PoolTimeout, WriteError, ReadError,
                ReadTimeout or RemoteProtocolError.
        """
        await self._acquire(connect_timeout)
        try:
            conn = self._idle_connection(origin) or await self._connect(origin, connect_timeout)
        except BaseException:
            self._slots.release()
            raise
        try:
            await conn.send(data)
            return await read_response(
                conn,
                self._release,
                head_timeout=head_timeout,
                read_timeout=read_timeout,
                decode=decode,
            )
        except BaseException:
            self._release(conn, False)
            raise

    async def _acquire(self, timeout: float | None) -> None:
        try:
            self._slots.acquire_nowait()
        except trio.WouldBlock:
            try:
                with trio.fail_after(math.inf if timeout is None else timeout):
                    await self._slots.acquire()
            except trio.TooSlowError:
                raise PoolTimeout("every upstream connection is in use") from None

    def _idle_connection(self, origin: Origin) -> Connection | None:
        idle = self._idle.get(origin)
        if not idle:
            return None
        now = self._clock()
        while idle:
            conn = idle.pop()
            if now - conn.idle_since > self._expiry or conn.buffer or _readable(conn.socket):
                conn.close()
                continue
            return conn
        return None

    async def _connect(self, origin: Origin, timeout: float | None) -> Connection:
        tcp: trio.SocketStream | None = None
        try:
            with trio.fail_after(math.inf if timeout is None else timeout):
                tcp = await trio.open_tcp_stream(origin.host, origin.port)
                stream: trio.abc.Stream = tcp
                if origin.scheme == "https":
                    tls = trio.SSLStream(
                        tcp, self._tls(), server_hostname=origin.host, https_compatible=True
                    )
                    await tls.do_handshake()
                    stream = tls
        except trio.TooSlowError:
            if tcp is not None:
                tcp.socket.close()
            raise ConnectTimeout(f"no connection within {timeout:g}s") from None
        except (OSError, trio.BrokenResourceError) as exc:
            if tcp is not None:
                tcp.socket.close()
            raise ConnectError(str(exc) or type(exc).__name__) from None
        return Connection(stream, tcp.socket, origin)

    def _release(self, conn: Connection, reusable: bool) -> None:
        self._slots.release()
        if not reusable or self._closed:
            conn.close()
            return
        idle = self._idle.setdefault(conn.key, [])
        if len(idle) >= self._max_idle:
            idle.pop(0).close()
        conn.idle_since = self._clock()
        idle.append(conn)

    async def aclose(self) -> None:
        """Close every idle connection; connections in use close when released."""
        self._closed = True
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()
        await trio.lowlevel.checkpoint()

    # --- as an httpx transport ------------------------------------------------------------

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Serve an ``httpx.Request`` (the httpx transport interface)."""
        url = request.url
        origin = Origin(url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme, 80))
        body = await request.aread()
        lines = [request.method.encode("ascii") + b" " + url.raw_path + b" HTTP/1.1"]
        for name, value in request.headers.raw:
            if name.lower() not in (b"content-length", b"transfer-encoding"):
                lines.append(name + b": " + value)
        if body or request.method not in ("GET", "HEAD"):
            lines.append(b"content-length: " + str(len(body)).encode())
        data = b"\r\n".join(lines) + b"\r\n\r\n" + body
        timeouts = request.extensions.get("timeout", {})
        try:
            reply = await self.request(
                origin,
                data,
                connect_timeout=timeouts.get("connect"),
                head_timeout=timeouts.get("read"),
                read_timeout=timeouts.get("read"),
                decode=False,  # httpx decodes content-encoding itself
            )
        except WireError as exc:
            raise _httpx_error(exc, request) from None
        return httpx.Response(
            reply.status,
            headers=reply.headers,
            stream=_HttpxStream(reply, request),
            extensions={"http_version": b"HTTP/1.1"},
            request=request,
        )


def _httpx_error(exc: WireError, request: httpx.Request) -> httpx.TransportError:
    kind = _HTTPX_ERRORS.get(type(exc), httpx.TransportError)
    return kind(str(exc), request=request)


class _HttpxStream(httpx.AsyncByteStream):
    def __init__(self, reply: WireResponse, request: httpx.Request) -> None:
        self._reply = reply
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for part in self._reply:
                yield part
        except WireError as exc:
            raise _httpx_error(exc, self._request) from None

    async def aclose(self) -> None:
        await self._reply.aclose()
