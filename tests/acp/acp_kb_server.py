"""A small MCP server over Streamable HTTP: one tool, ``lookup``, behind the gateway's /mcp."""

from __future__ import annotations

from typing import Any

import mcp_types as types
from mcp.server import Server, ServerRequestContext
from starlette.applications import Starlette

_LOOKUP = types.Tool(
    name="lookup",
    description="Look a word up in the knowledge base.",
    input_schema={
        "type": "object",
        "properties": {"query": {"type": "string"}},
        "required": ["query"],
    },
)


async def _list_tools(
    ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
) -> types.ListToolsResult:
    return types.ListToolsResult(tools=[_LOOKUP])


async def _call_tool(
    ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
) -> types.CallToolResult:
    query = (params.arguments or {}).get("query", "")
    text = types.TextContent(type="text", text=f"kb says: {query} is a fine word")
    return types.CallToolResult(content=[text])


def kb_app() -> Starlette:
    """The server's ASGI app (endpoint ``/mcp``)."""
    server: Server[Any] = Server("kb", on_list_tools=_list_tools, on_call_tool=_call_tool)
    return server.streamable_http_app()
