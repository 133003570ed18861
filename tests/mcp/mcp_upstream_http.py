"""A small MCP server over Streamable HTTP for the tests, written on the SDK's low-level API."""

from __future__ import annotations

from typing import Any

import mcp_types as types
import trio
from mcp.server import Server, ServerRequestContext
from starlette.applications import Starlette

_NUMBERS = {
    "type": "object",
    "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
    "required": ["a", "b"],
}
_TOOLS = [
    types.Tool(name="add", description="a + b", input_schema=_NUMBERS),
    types.Tool(
        name="whoami",
        description="The Authorization header this server received.",
        input_schema={"type": "object"},
    ),
    types.Tool(
        name="liar",
        description="Breaks its own output schema.",
        input_schema={"type": "object"},
        output_schema={
            "type": "object",
            "properties": {"n": {"type": "integer"}},
            "required": ["n"],
        },
    ),
    types.Tool(
        name="slow",
        description="Waits, then answers.",
        input_schema={"type": "object", "properties": {"seconds": {"type": "number"}}},
    ),
]


async def _list_tools(
    ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
) -> types.ListToolsResult:
    return types.ListToolsResult(tools=_TOOLS)


async def _call_tool(
    ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
) -> types.CallToolResult:
    args = params.arguments or {}
    if params.name == "add":
        total = int(args["a"]) + int(args["b"])
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=str(total))],
            structured_content={"sum": total},
        )
    if params.name == "whoami":
        seen = ctx.request.headers.get("authorization", "") if ctx.request is not None else ""
        return types.CallToolResult(content=[types.TextContent(type="text", text=seen)])
    if params.name == "liar":
        return types.CallToolResult(
            content=[types.TextContent(type="text", text="n is x")], structured_content={"n": "x"}
        )
    if params.name == "slow":
        await trio.sleep(float(args.get("seconds", 1)))
        return types.CallToolResult(content=[types.TextContent(type="text", text="done")])
    raise ValueError(f"unknown tool {params.name}")


async def _list_prompts(
    ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
) -> types.ListPromptsResult:
    return types.ListPromptsResult(prompts=[types.Prompt(name="hello", description="Greets.")])


async def _get_prompt(
    ctx: ServerRequestContext[Any, Any], params: types.GetPromptRequestParams
) -> types.GetPromptResult:
    text = types.TextContent(type="text", text="Hello from the HTTP server.")
    return types.GetPromptResult(messages=[types.PromptMessage(role="user", content=text)])


def http_upstream_app() -> Starlette:
    """The server's ASGI app (endpoint ``/mcp``)."""
    server: Server[Any] = Server(
        "calc",
        on_list_tools=_list_tools,
        on_call_tool=_call_tool,
        on_list_prompts=_list_prompts,
        on_get_prompt=_get_prompt,
    )
    return server.streamable_http_app()
