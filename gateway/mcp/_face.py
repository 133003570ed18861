"""``McpFace``: the ``/mcp`` endpoint, its upstream connections and its SDK session manager.

Sessions are stateless (the SDK's ``stateless`` Streamable HTTP mode, and the 2026-07-28
per-request protocol, which is stateless by design): no ``Mcp-Session-Id`` is issued and every
request carries everything it needs (its bearer token), so the next request of a client may land
on any gateway process. See specs/mcp.md for what this gives up.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import trio
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.subscriptions import (
    InMemorySubscriptionBus,
    PromptsListChanged,
    ResourcesListChanged,
    ToolsListChanged,
)

from gateway.errors import ConfigError, UpstreamUnavailable
from gateway.identity import Principal
from gateway.mcp._calls import ToolCaller
from gateway.mcp._directory import Directory
from gateway.mcp._gate import Gate, Receive, Scope, Send, send_error
from gateway.mcp._hosts import transport_security
from gateway.mcp._ports import Authenticate, CheckTool, GatewayTools, SpendGuard
from gateway.mcp._server import build_server, visible
from gateway.mcp._upstream import Upstream, UpstreamStatus
from gateway.settings import Settings

__all__ = ["McpFace"]

# Start-up waits this long at most for the upstreams' first connection attempts, so that the
# first tools/list is complete; a slower server joins the list when it connects.
_FIRST_CONNECT_SECONDS = 10.0

Fingerprint = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]


class McpFace:
    """Upstream MCP servers and the gateway's own tools at ``/mcp``, behind the gateway's token
    and spending limits."""

    def __init__(
        self,
        settings: Settings,
        *,
        authenticate: Authenticate,
        check_tool: CheckTool,
        spend: SpendGuard[Any],
        tools: GatewayTools,
    ) -> None:
        repeated = [n for n, k in Counter(s.name for s in settings.mcp_servers).items() if k > 1]
        if repeated:
            raise ConfigError(f"mcp_servers: the name {repeated[0]!r} is used more than once")
        self._settings = settings
        self._authenticate = authenticate
        self._check_tool = check_tool
        self._upstreams = {s.name: Upstream(s, self._changed) for s in settings.mcp_servers}
        self._directory = Directory(self._upstreams)
        self._bus = InMemorySubscriptionBus()
        caller = ToolCaller(self._directory, check_tool, spend, tools)
        self._server, self._listen = build_server(self._directory, caller, check_tool, self._bus)
        self._gate = Gate(authenticate, self._serve)
        self._manager: StreamableHTTPSessionManager | None = None
        self._change = trio.Event()
        self._offer: Fingerprint = self._fingerprint()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Connect the upstreams and serve ``/mcp`` until cancelled (run it in the app's nursery).

        Reports started once every upstream has made its first connection attempt (at most
        ten seconds), so the first ``tools/list`` is not missing a server that is merely slow.
        """
        async with trio.open_nursery() as nursery:
            for upstream in self._upstreams.values():
                nursery.start_soon(upstream.supervise)
            with trio.move_on_after(_FIRST_CONNECT_SECONDS):
                for upstream in self._upstreams.values():
                    await upstream.attempted.wait()
            manager = StreamableHTTPSessionManager(
                app=self._server,
                stateless=True,
                security_settings=transport_security(self._settings.server),
                max_request_body_size=self._settings.server.max_body_bytes,
            )
            async with manager.run():
                self._manager = manager
                try:
                    task_status.started()
                    await trio.sleep_forever()
                finally:
                    self._manager = None
                    self._listen.close()

    async def asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI app of every path under ``/mcp`` (needs no lifespan)."""
        await self._gate(scope, receive, send)

    async def authenticate(self, authorization: str | None) -> Principal:
        """The caller of an ``Authorization`` header value (for routes beside ``/mcp``).

        Raises:
            AuthError, Forbidden: as the injected authenticator decides.
        """
        return await self._authenticate(authorization)

    async def list_tools_for(self, principal: Principal) -> list[dict[str, Any]]:
        """The tools ``principal`` may call: name, description, server, price, available."""
        return [
            offered.describe()
            for offered in self._directory.tools()
            if visible(self._check_tool, principal, offered.name)
        ]

    def status(self) -> dict[str, UpstreamStatus]:
        """Health of every upstream, by name."""
        return {name: upstream.status() for name, upstream in self._upstreams.items()}

    async def wait_until(
        self, predicate: Callable[[dict[str, UpstreamStatus]], bool]
    ) -> dict[str, UpstreamStatus]:
        """Wait until the upstreams' status satisfies ``predicate``; returns that status."""
        while True:
            change = self._change
            status = self.status()
            if predicate(status):
                return status
            await change.wait()

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        manager = self._manager
        if manager is None:
            await send_error(send, UpstreamUnavailable("the MCP endpoint is starting or stopping"))
            return
        await manager.handle_request(scope, receive, send)

    def _fingerprint(self) -> Fingerprint:
        d = self._directory
        return (
            tuple(t.name for t in d.tools()),
            tuple(r.uri for r in d.resources()) + tuple(t.uri_template for t in d.templates()),
            tuple(p.name for p in d.prompts()),
        )

    async def _changed(self) -> None:
        before, self._offer = self._offer, self._fingerprint()
        tools, resources, prompts = (a != b for a, b in zip(before, self._offer, strict=True))
        if tools:
            await self._bus.publish(ToolsListChanged())
        if resources:
            await self._bus.publish(ResourcesListChanged())
        if prompts:
            await self._bus.publish(PromptsListChanged())
        self._change.set()
        self._change = trio.Event()
