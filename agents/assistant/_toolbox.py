"""The session's MCP tools (the gateway's ``/mcp``): listed for the model, called on its
behalf. A refusal by the gateway (a spending cap, a forbidden tool) is not tool output: it is
raised as :class:`ToolRefused` so that the turn can end with it."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx2
from acp.schema import HttpMcpServer
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import TextContent

__all__ = ["SPENDING_REFUSED", "ToolRefused", "Toolbox"]

# The gateway's JSON-RPC code for a spending refusal (HTTP 402).
SPENDING_REFUSED = -32002


class ToolRefused(Exception):
    """The gateway refused a tool call; ``spending`` when a limit refused it."""

    def __init__(self, message: str, *, spending: bool) -> None:
        super().__init__(message)
        self.message = message
        self.spending = spending


@dataclass(frozen=True)
class _Tool:
    client: Client
    name: str
    description: str
    schema: dict[str, Any]


class Toolbox:
    """Tools by name, each with the client of its server."""

    def __init__(self, tools: Sequence[_Tool]) -> None:
        self._tools = {tool.name: tool for tool in tools}

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, servers: Sequence[HttpMcpServer]) -> AsyncIterator[Toolbox]:
        """Connect to ``servers`` for one turn and list their tools."""
        async with contextlib.AsyncExitStack() as stack:
            tools: list[_Tool] = []
            for server in servers:
                headers = {h.name: h.value for h in server.headers}
                http = await stack.enter_async_context(httpx2.AsyncClient(headers=headers))
                transport = streamable_http_client(server.url, http_client=http)
                client = await stack.enter_async_context(Client(transport))
                listed = await client.list_tools()
                tools += [
                    _Tool(client, t.name, t.description or "", t.input_schema) for t in listed.tools
                ]
            yield cls(tools)

    def specs(self) -> list[dict[str, Any]]:
        """The tools as OpenAI function tools."""
        return [
            {
                "type": "function",
                "function": {
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": tool.schema,
                },
            }
            for tool in self._tools.values()
        ]

    async def call(self, name: str, arguments: dict[str, Any]) -> str:
        """The tool's answer as text (a tool error is an answer too).

        Raises:
            ToolRefused: the gateway refused the call.
        """
        tool = self._tools.get(name)
        if tool is None:
            return f"error: there is no tool named {name!r}"
        try:
            result = await tool.client.call_tool(name, arguments)
        except MCPError as exc:
            status = exc.data.get("status") if isinstance(exc.data, dict) else None
            spending = exc.code == SPENDING_REFUSED or status == 402
            raise ToolRefused(exc.message, spending=spending) from None
        text = "\n".join(block.text for block in result.content if isinstance(block, TextContent))
        if not text and result.structured_content is not None:
            text = json.dumps(result.structured_content)
        return f"error: {text}" if result.is_error else text
