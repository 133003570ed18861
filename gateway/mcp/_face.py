"""``McpFace``: the ``/mcp`` endpoint, its upstream connections and its SDK session manager.

Sessions are stateless (the SDK's ``stateless`` Streamable HTTP mode, and the 2026-07-28
per-request protocol, which is stateless by design): no ``Mcp-Session-Id`` is issued and every
request carries everything it needs (its bearer token), so the next request of a client may land
on any gateway process. See specs/mcp.md for what this gives up.
"""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import trio

from gateway.errors import ConfigError, UpstreamUnavailable
from gateway.identity import Principal
from gateway.mcp._gate import Gate, Receive, Scope, Send, send_error
from gateway.mcp._ports import Authenticate, CheckTool, GatewayTools, SpendGuard, visible
from gateway.mcp._status import UpstreamStatus
from gateway.settings import Settings

if TYPE_CHECKING:
    from gateway.mcp._directory import Directory
    from gateway.mcp._engine import McpEngine
    from gateway.mcp._upstream import Upstream

__all__ = ["McpFace"]

# Start-up waits this long at most for the upstreams' first connection attempts, so that the
# first tools/list is complete; a slower server joins the list when it connects.
_FIRST_CONNECT_SECONDS = 10.0

Fingerprint = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]

# The MCP SDK and its wire types are imported where they are first needed (the functions and
# methods below), not here: a gateway with no upstream MCP server loads the wire types at its
# first tool listing and the SDK at its first authenticated request to /mcp.


def _upstreams_of(
    settings: Settings, on_change: Callable[[], Awaitable[None]]
) -> dict[str, Upstream]:
    if not settings.mcp_servers:
        return {}
    from gateway.mcp._upstream import Upstream

    return {s.name: Upstream(s, on_change) for s in settings.mcp_servers}


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
        self._spend = spend
        self._tools = tools
        self._upstreams = _upstreams_of(settings, self._changed)
        self._listing: Directory | None = None
        self._engine: McpEngine | None = None
        self._nursery: trio.Nursery | None = None
        self._starting = trio.Lock()
        self._gate = Gate(authenticate, self._serve)
        self._change = trio.Event()
        self._offer: Fingerprint = self._fingerprint() if self._upstreams else ((), (), ())

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Connect the upstreams and serve ``/mcp`` until cancelled (run it in the app's nursery).

        Reports started once every upstream has made its first connection attempt (at most
        ten seconds), so the first ``tools/list`` is not missing a server that is merely slow.
        Without upstreams the SDK's session manager starts with the first request to ``/mcp``.
        """
        async with trio.open_nursery() as nursery:
            for upstream in self._upstreams.values():
                nursery.start_soon(upstream.supervise)
            with trio.move_on_after(_FIRST_CONNECT_SECONDS):
                for upstream in self._upstreams.values():
                    await upstream.attempted.wait()
            self._nursery = nursery
            try:
                if self._upstreams:
                    await self._start_engine()
                task_status.started()
                await trio.sleep_forever()
            finally:
                self._nursery = None

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
            for offered in self._directory().tools()
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

    def _directory(self) -> Directory:
        if self._listing is None:
            from gateway.mcp._directory import Directory

            self._listing = Directory(self._upstreams)
        return self._listing

    async def _start_engine(self) -> McpEngine | None:
        """The running engine, started now if need be; None while the face is not running."""
        async with self._starting:
            engine = self._engine
            if engine is not None and engine.serving:
                return engine
            nursery = self._nursery
            if nursery is None:
                return None
            # The SDK takes ~0.5 s to import: in a worker thread, so the event loop keeps serving.
            await trio.to_thread.run_sync(importlib.import_module, "gateway.mcp._engine")
            from gateway.mcp._engine import McpEngine

            engine = McpEngine(
                self._settings.server,
                self._directory(),
                check_tool=self._check_tool,
                spend=self._spend,
                tools=self._tools,
            )
            await nursery.start(engine.run)
            self._engine = engine
            return engine

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        engine = self._engine
        if engine is None or not engine.serving:
            engine = await self._start_engine()
        if engine is None or not await engine.handle(scope, receive, send):
            await send_error(send, UpstreamUnavailable("the MCP endpoint is starting or stopping"))

    def _fingerprint(self) -> Fingerprint:
        d = self._directory()
        return (
            tuple(t.name for t in d.tools()),
            tuple(r.uri for r in d.resources()) + tuple(t.uri_template for t in d.templates()),
            tuple(p.name for p in d.prompts()),
        )

    async def _changed(self) -> None:
        before, self._offer = self._offer, self._fingerprint()
        tools, resources, prompts = (a != b for a, b in zip(before, self._offer, strict=True))
        if self._engine is not None:
            await self._engine.publish(tools, resources, prompts)
        self._change.set()
        self._change = trio.Event()
