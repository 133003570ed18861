"""Opening the SDK transport to one upstream, and noticing when it ends.

The SDK client does not say when its connection is gone: a dead stdio server only shows as
``Connection closed`` on the next request. The read stream of the transport ends at that
moment, so it is wrapped to set an event when it does; the upstream's supervisor waits on it
and reconnects at once instead of at the next call.
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import os
import sys
from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import Any, Protocol, TextIO

import anyio
import httpx2
import trio
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.message import SessionMessage

from gateway.settings import McpServerSettings

__all__ = ["open_transport"]

# Long enough for a tool call's response stream and a listen stream's keep-alive pings.
_MIN_READ_SECONDS = 300.0


class _Receiving(Protocol):
    async def receive(self) -> SessionMessage | Exception: ...
    async def aclose(self) -> None: ...


class _WatchedReadStream:
    """A read stream that sets ``ended`` when its transport stops delivering messages."""

    def __init__(self, inner: _Receiving, ended: trio.Event) -> None:
        self._inner = inner
        self._ended = ended

    @property
    def last_context(self) -> contextvars.Context | None:
        """The sender's context of the last message (the SDK reads it when present)."""
        context: contextvars.Context | None = getattr(self._inner, "last_context", None)
        return context

    async def receive(self) -> SessionMessage | Exception:
        try:
            return await self._inner.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._ended.set()
            raise

    async def aclose(self) -> None:
        self._ended.set()
        await self._inner.aclose()

    def __aiter__(self) -> _WatchedReadStream:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> _WatchedReadStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _http_client(server: McpServerSettings) -> httpx2.AsyncClient:
    # Only the configured headers go upstream: the caller's gateway token never does.
    timeout = httpx2.Timeout(
        server.timeout_seconds, read=max(_MIN_READ_SECONDS, server.timeout_seconds)
    )
    return httpx2.AsyncClient(headers=dict(server.headers), timeout=timeout)


@contextlib.contextmanager
def _errlog() -> Iterator[TextIO]:
    """Where a stdio upstream's stderr goes: ours, or nowhere when ours has no file (a Jupyter
    kernel, a captured test), since the subprocess needs a real descriptor."""
    try:
        sys.stderr.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        with open(os.devnull, "w") as sink:
            yield sink
        return
    yield sys.stderr


@contextlib.asynccontextmanager
async def open_transport(
    server: McpServerSettings, ended: trio.Event
) -> AsyncIterator[tuple[_WatchedReadStream, Any]]:
    """The SDK streams to ``server`` (stdio subprocess or Streamable HTTP); sets ``ended`` when
    the connection is gone."""
    read: Any
    if server.command is not None:
        params = StdioServerParameters(
            command=server.command, args=list(server.args), env=dict(server.env)
        )
        with _errlog() as errlog:
            async with stdio_client(params, errlog=errlog) as (read, write):
                yield _WatchedReadStream(read, ended), write
        return
    assert server.url is not None  # the settings validate exactly one transport
    async with (
        _http_client(server) as http,
        streamable_http_client(server.url, http_client=http) as (read, write),
    ):
        yield _WatchedReadStream(read, ended), write
