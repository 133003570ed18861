"""One configured MCP server: its connection, its last-known lists, and its health.

``supervise`` runs for the life of the face in its nursery: it connects with the SDK client,
fetches the lists, refreshes them on ``list_changed`` (a notification on handshake-era
connections, a ``subscriptions/listen`` stream on 2026-07-28 ones), and when the connection
ends or fails it reconnects with exponential backoff. Meanwhile calls fail at once with a clear
``UpstreamUnavailable``; the last-known lists stay offered so that an agent's plan does not
silently lose tools while a server restarts.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, TypeVar

import httpx2
import mcp_types as types
import trio
from mcp import Client, MCPError
from mcp.client import IncomingMessage
from mcp.client.subscriptions import SubscriptionLost
from mcp_types import CONNECTION_CLOSED, REQUEST_TIMEOUT
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import ValidationError

from gateway.errors import UpstreamError, UpstreamTimeout, UpstreamUnavailable
from gateway.mcp._lists import Lists, fetch_lists
from gateway.mcp._status import UpstreamStatus
from gateway.mcp._transport import open_transport
from gateway.settings import McpServerSettings

__all__ = ["Upstream", "upstream_meta"]

_log = logging.getLogger("bitrouter.mcp")
_LIST_CHANGED = (
    types.ToolListChangedNotification,
    types.PromptListChangedNotification,
    types.ResourceListChangedNotification,
)
_T = TypeVar("_T")


@dataclass
class _State:
    client: Client | None = None
    lists: Lists = field(default_factory=Lists)
    error: str | None = "not connected yet"
    connections: int = 0


def _describe(exc: BaseException, transport: str) -> str:
    """One safe line for a connection failure: no URL, header or environment value."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, MCPError):
        return exc.message
    if isinstance(exc, httpx2.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    if isinstance(exc, httpx2.TransportError | OSError):
        verb = "cannot start the command" if transport == "stdio" else "cannot connect"
        return f"{verb} ({type(exc).__name__})"
    return f"connection failed ({type(exc).__name__})"


class Upstream:
    """One MCP server the operator configured."""

    def __init__(
        self, settings: McpServerSettings, on_change: Callable[[], Awaitable[None]]
    ) -> None:
        self.settings = settings
        self.name = settings.name
        self.transport = "stdio" if settings.command is not None else "http"
        self.attempted = trio.Event()
        self._on_change = on_change
        self._state = _State()
        self._refresh_wanted = trio.Event()

    @property
    def lists(self) -> Lists:
        """The last-known lists (kept while reconnecting)."""
        return self._state.lists

    def status(self) -> UpstreamStatus:
        """Health snapshot."""
        s = self._state
        return UpstreamStatus(
            name=self.name,
            transport=self.transport,
            connected=s.client is not None,
            error=s.error,
            connections=s.connections,
            tools=len(s.lists.tools),
        )

    def allows(self, tool: str) -> bool:
        """Whether the settings' allowlist offers the server's ``tool``."""
        return not self.settings.tools or any(fnmatchcase(tool, p) for p in self.settings.tools)

    async def supervise(self) -> None:
        """Connect, serve, and reconnect with backoff, until cancelled."""
        delay = self.settings.reconnect_min_seconds
        while True:
            before = self._state.connections
            try:
                reason = await self._connect_and_serve()
            # The supervisor must outlive whatever its server does (a crash, a refused
            # connection, a protocol error, an ExceptionGroup from the SDK's task groups);
            # cancellation is a BaseException and passes through.
            except Exception as exc:
                reason = _describe(exc, self.transport)
            await self._mark_down(reason)
            if self._state.connections > before:
                delay = self.settings.reconnect_min_seconds
            await trio.sleep(delay)
            delay = min(delay * 2, self.settings.reconnect_max_seconds)

    async def _connect_and_serve(self) -> str:
        ended = trio.Event()
        client = Client(
            open_transport(self.settings, ended),
            read_timeout_seconds=self.settings.timeout_seconds,
            message_handler=self._on_message,
            cache=None,
        )
        async with client:
            await self._refresh(client)
            self._state.client = client
            self._state.error = None
            self._state.connections += 1
            self.attempted.set()
            _log.info("MCP server %r connected (%s)", self.name, client.protocol_version)
            await self._on_change()
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._refresher, client)
                    if self._wants_listen(client):
                        nursery.start_soon(self._listen, client, ended)
                    await ended.wait()
                    nursery.cancel_scope.cancel()
            finally:
                self._state.client = None
        return "the connection closed"

    async def _mark_down(self, reason: str) -> None:
        self._state.client = None
        self._state.error = reason
        self.attempted.set()
        _log.warning("MCP server %r is unavailable: %s; reconnecting", self.name, reason)
        with trio.CancelScope(shield=True):
            await self._on_change()

    def _wants_listen(self, client: Client) -> bool:
        caps = client.server_capabilities
        return client.protocol_version in MODERN_PROTOCOL_VERSIONS and any(
            c is not None and c.list_changed for c in (caps.tools, caps.prompts, caps.resources)
        )

    async def _on_message(self, message: IncomingMessage) -> None:
        if isinstance(message, _LIST_CHANGED):
            self._refresh_wanted.set()

    async def _listen(self, client: Client, ended: trio.Event) -> None:
        try:
            async with client.listen(
                tools_list_changed=True, prompts_list_changed=True, resources_list_changed=True
            ) as events:
                async for _ in events:
                    self._refresh_wanted.set()
        except (MCPError, TimeoutError) as exc:
            _log.info("MCP server %r does not stream list changes (%s)", self.name, exc)
            return
        except SubscriptionLost:
            pass
        # The stream ended: over HTTP that is how a vanished server shows; reconnect.
        ended.set()

    async def _refresher(self, client: Client) -> None:
        while True:
            await self._refresh_wanted.wait()
            self._refresh_wanted = trio.Event()
            try:
                await self._refresh(client)
            except MCPError as exc:
                _log.warning(
                    "MCP server %r: refreshing its lists failed: %s", self.name, exc.message
                )
                continue
            await self._on_change()

    async def _refresh(self, client: Client) -> None:
        self._state.lists = await fetch_lists(client, self.allows)

    async def request(self, what: str, send: Callable[[Client], Awaitable[_T]]) -> _T:
        """Send one request over the live connection, within the server's timeout.

        Raises:
            UpstreamUnavailable: not connected, or the connection closed during the request.
            UpstreamTimeout: no answer within ``timeout_seconds``.
            UpstreamError: the answer breaks the protocol or the tool's output schema.
            MCPError: the server's own error answer (its message prefixed with its name).
        """
        client = self._state.client
        if client is None:
            raise UpstreamUnavailable(
                f"MCP server '{self.name}' is unavailable ({self._state.error}); "
                "the gateway is reconnecting to it",
                code="mcp_server_unavailable",
            )
        seconds = self.settings.timeout_seconds
        try:
            with trio.fail_after(seconds):
                return await send(client)
        except trio.TooSlowError:
            raise self._timeout(what, seconds) from None
        except MCPError as exc:
            if exc.code == CONNECTION_CLOSED:
                raise UpstreamUnavailable(
                    f"MCP server '{self.name}' closed the connection during {what}; "
                    "the gateway is reconnecting to it",
                    code="mcp_server_unavailable",
                ) from None
            if exc.code == REQUEST_TIMEOUT:
                raise self._timeout(what, seconds) from None
            raise MCPError(exc.code, f"MCP server '{self.name}': {exc.message}", exc.data) from None
        except (ValidationError, RuntimeError):
            # The SDK client rejects a result that breaks the protocol or the tool's own output
            # schema; that is the server's fault, not the caller's parameters.
            raise UpstreamError(
                f"MCP server '{self.name}' answered {what} with an invalid result",
                code="mcp_invalid_result",
            ) from None

    def _timeout(self, what: str, seconds: float) -> UpstreamTimeout:
        return UpstreamTimeout(
            f"MCP server '{self.name}' did not answer {what} within {seconds:g}s",
            code="mcp_server_timeout",
        )


def upstream_meta(meta: dict[str, Any] | None) -> dict[str, Any] | None:
    """An upstream result's ``_meta`` without the protocol's reserved keys (its server stamp)."""
    if not meta:
        return None
    kept = {k: v for k, v in meta.items() if not k.startswith("io.modelcontextprotocol/")}
    return kept or None
