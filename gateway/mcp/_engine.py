"""The MCP SDK's side of ``/mcp``: the low-level server, its session manager, its change bus.

Built by the face only when it is needed (the first authenticated request to ``/mcp``, or at
start when upstream servers are configured), so that a gateway that never serves MCP does not
load the SDK (with starlette, uvicorn, anyio and opentelemetry: ~20 MB resident).
"""

from __future__ import annotations

from typing import Any

import trio
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.subscriptions import (
    InMemorySubscriptionBus,
    PromptsListChanged,
    ResourcesListChanged,
    ToolsListChanged,
)

from gateway.mcp._calls import ToolCaller
from gateway.mcp._directory import Directory
from gateway.mcp._gate import Receive, Scope, Send
from gateway.mcp._hosts import transport_security
from gateway.mcp._ports import CheckTool, GatewayTools, SpendGuard
from gateway.mcp._server import build_server
from gateway.settings import ServerSettings

__all__ = ["McpEngine"]


class McpEngine:
    """The SDK's stateless Streamable HTTP server over the face's directory."""

    def __init__(
        self,
        server: ServerSettings,
        directory: Directory,
        *,
        check_tool: CheckTool,
        spend: SpendGuard[Any],
        tools: GatewayTools,
    ) -> None:
        self._settings = server
        self._bus = InMemorySubscriptionBus()
        caller = ToolCaller(directory, check_tool, spend, tools)
        self._server, self._listen = build_server(directory, caller, check_tool, self._bus)
        self._manager: StreamableHTTPSessionManager | None = None

    @property
    def serving(self) -> bool:
        """True while the session manager runs."""
        return self._manager is not None

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run the session manager until cancelled; reports started once it takes requests."""
        manager = StreamableHTTPSessionManager(
            app=self._server,
            stateless=True,
            security_settings=transport_security(self._settings),
            max_request_body_size=self._settings.max_body_bytes,
        )
        async with manager.run():
            self._manager = manager
            try:
                task_status.started()
                await trio.sleep_forever()
            finally:
                self._manager = None
                self._listen.close()

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Serve one request; False (nothing sent) when the manager is not running."""
        manager = self._manager
        if manager is None:
            return False
        await manager.handle_request(scope, receive, send)
        return True

    async def publish(self, tools: bool, resources: bool, prompts: bool) -> None:
        """Tell listening clients which of the lists changed."""
        if tools:
            await self._bus.publish(ToolsListChanged())
        if resources:
            await self._bus.publish(ResourcesListChanged())
        if prompts:
            await self._bus.publish(PromptsListChanged())
