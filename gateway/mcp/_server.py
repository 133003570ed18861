"""The SDK's low-level MCP server for ``/mcp``: each handler parses, calls one service, answers.

The verified caller reaches a handler through the ASGI scope of its HTTP request (the gate
puts it there before the SDK runs); every gateway error leaves as the MCP error of
:func:`to_mcp_error`.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.subscriptions import ListenHandler, SubscriptionBus

from gateway import __version__
from gateway.errors import AuthError, GatewayError
from gateway.identity import Principal
from gateway.mcp._calls import ToolCaller
from gateway.mcp._directory import Directory
from gateway.mcp._errors import to_mcp_error
from gateway.mcp._gate import PRINCIPAL_KEY
from gateway.mcp._names import qualify
from gateway.mcp._ports import CheckTool, visible

__all__ = ["UNAVAILABLE_META", "build_server"]

UNAVAILABLE_META = "bitrouter/unavailable"
_R = TypeVar("_R")
_Ctx = ServerRequestContext[Any, Any]
_INSTRUCTIONS = (
    "BitRouter gateway: the tools of the operator's MCP servers as 'server__tool', plus chat, "
    "quote, list_models and balance. Paid tools show their price in _meta['bitrouter/price'] "
    "(µUSD) and each result its charge in _meta['bitrouter/cost_micro_usd']."
)


def principal_of(ctx: _Ctx) -> Principal:
    """The verified caller of this request."""
    scope = getattr(ctx.request, "scope", None)
    principal = scope.get(PRINCIPAL_KEY) if isinstance(scope, dict) else None
    if not isinstance(principal, Principal):
        raise to_mcp_error(AuthError("missing Authorization: Bearer token", code="missing_token"))
    return principal


async def _mapped(work: Awaitable[_R]) -> _R:
    try:
        return await work
    except GatewayError as exc:
        raise to_mcp_error(exc) from None


def build_server(
    directory: Directory, caller: ToolCaller, check_tool: CheckTool, bus: SubscriptionBus
) -> tuple[Server[Any], ListenHandler]:
    """The MCP server of the face and its ``subscriptions/listen`` handler."""

    async def list_tools(
        ctx: _Ctx, params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        principal = principal_of(ctx)
        tools = [o.tool for o in directory.tools() if visible(check_tool, principal, o.name)]
        down = directory.unavailable()
        return types.ListToolsResult(tools=tools, _meta={UNAVAILABLE_META: down} if down else None)

    async def call_tool(ctx: _Ctx, params: types.CallToolRequestParams) -> types.CallToolResult:
        principal = principal_of(ctx)
        return await _mapped(caller.call(principal, params.name, dict(params.arguments or {})))

    # The token's ``tools`` globs also cover the prompts and resources of the same servers
    # (matched on the namespaced name and URI), so an allowlisted token sees only its servers.
    async def list_resources(
        ctx: _Ctx, params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        principal = principal_of(ctx)
        shown = [r for r in directory.resources() if visible(check_tool, principal, r.uri)]
        return types.ListResourcesResult(resources=shown)

    async def list_templates(
        ctx: _Ctx, params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        principal = principal_of(ctx)
        shown = [t for t in directory.templates() if visible(check_tool, principal, t.uri_template)]
        return types.ListResourceTemplatesResult(resource_templates=shown)

    async def read_resource(
        ctx: _Ctx, params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        principal = principal_of(ctx)

        async def read() -> types.ReadResourceResult:
            upstream, uri = directory.resource_owner(params.uri)
            check_tool(principal, qualify(upstream.name, uri))
            result = await upstream.request("resources/read", lambda c: c.read_resource(uri))
            contents = [
                c.model_copy(update={"uri": qualify(upstream.name, c.uri)}) for c in result.contents
            ]
            return types.ReadResourceResult(contents=contents)

        return await _mapped(read())

    async def list_prompts(
        ctx: _Ctx, params: types.PaginatedRequestParams | None
    ) -> types.ListPromptsResult:
        principal = principal_of(ctx)
        shown = [p for p in directory.prompts() if visible(check_tool, principal, p.name)]
        return types.ListPromptsResult(prompts=shown)

    async def get_prompt(ctx: _Ctx, params: types.GetPromptRequestParams) -> types.GetPromptResult:
        principal = principal_of(ctx)

        async def get() -> types.GetPromptResult:
            upstream, name = directory.upstream_of(params.name, "prompt")
            check_tool(principal, params.name)
            result = await upstream.request(
                f"prompts/get {name!r}", lambda c: c.get_prompt(name, params.arguments)
            )
            return types.GetPromptResult(description=result.description, messages=result.messages)

        return await _mapped(get())

    def input_schema(name: str) -> dict[str, Any] | None:
        try:
            return directory.tool(name).tool.input_schema
        except GatewayError:
            return None  # the call itself reports the unknown tool

    listen = ListenHandler(bus)
    server: Server[Any] = Server(
        "bitrouter",
        version=__version__,
        instructions=_INSTRUCTIONS,
        get_tool_input_schema=input_schema,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_list_resource_templates=list_templates,
        on_read_resource=read_resource,
        on_list_prompts=list_prompts,
        on_get_prompt=get_prompt,
        on_subscriptions_listen=listen,
    )
    return server, listen
