"""One tool call: check the token, reserve the price, call, charge what it cost.

A paid call follows the same rule as a model call: its most expensive outcome (the per-call
price plus the largest result allowed) is reserved against every limit before anything is sent
upstream; afterwards the actual cost is charged and the rest released. A call that does not
complete (refused, unreachable, timed out, cancelled, result too large) is released, not
charged. A completed call is charged even when the tool reports ``isError``: the server did the
work, and the error is the tool's answer.
"""

from __future__ import annotations

import secrets
from typing import Any

import mcp_types as types
import orjson
import trio

from gateway.errors import UpstreamError
from gateway.identity import Principal
from gateway.mcp._directory import Directory, OfferedTool
from gateway.mcp._own_tools import call_own_tool
from gateway.mcp._ports import CheckTool, GatewayTools, SpendGuard
from gateway.mcp._upstream import upstream_meta

__all__ = ["COST_META", "REQUEST_ID_META", "ToolCaller", "result_bytes"]

COST_META = "bitrouter/cost_micro_usd"
REQUEST_ID_META = "bitrouter/request_id"


def result_bytes(result: types.CallToolResult) -> int:
    """The size of a result's content as JSON: what ``per_kb`` prices are charged on."""
    content = [c.model_dump(mode="json", by_alias=True, exclude_none=True) for c in result.content]
    size = len(orjson.dumps(content))
    if result.structured_content is not None:
        size += len(orjson.dumps(result.structured_content))
    return size


class ToolCaller:
    """Runs ``tools/call`` for a verified caller."""

    def __init__(
        self,
        directory: Directory,
        check_tool: CheckTool,
        spend: SpendGuard[Any],
        own_tools: GatewayTools,
    ) -> None:
        self._directory = directory
        self._check_tool = check_tool
        self._spend = spend
        self._own_tools = own_tools

    async def call(
        self, principal: Principal, name: str, arguments: dict[str, Any]
    ) -> types.CallToolResult:
        """Call ``name`` for ``principal``.

        Raises:
            NotFound, Forbidden: no such tool, or not for this token or this gateway.
            SpendingError: a limit refuses the price; nothing was sent upstream.
            UpstreamError: the server is unavailable, timed out or answered too much.
        """
        offered = self._directory.tool(name)
        self._check_tool(principal, offered.name)
        if offered.upstream is None:
            return await call_own_tool(self._own_tools, principal, offered.name, arguments)
        return await self._paid(principal, offered, arguments)

    async def _paid(
        self, principal: Principal, offered: OfferedTool, arguments: dict[str, Any]
    ) -> types.CallToolResult:
        upstream, original, price = offered.upstream, offered.original, offered.price
        assert upstream is not None and original is not None and price is not None
        limit = upstream.settings.max_result_bytes
        request_id = f"mcp_{secrets.token_hex(12)}"
        usage: dict[str, Any] = {
            "server": upstream.name,
            "tool": original,
            "request_id": request_id,
        }
        hold = await self._spend.reserve(
            principal,
            kind="tool",
            subject=offered.name,
            amount=price.reservation(limit),
            tokens=0,
            request_id=request_id,
        )
        started = trio.current_time()
        try:
            result = await upstream.request(
                f"tools/call {original!r}", lambda client: client.call_tool(original, arguments)
            )
            size = result_bytes(result)
            if size > limit:
                raise UpstreamError(
                    f"MCP server '{upstream.name}' returned {size} bytes for tool {original!r}, "
                    f"more than its max_result_bytes ({limit})",
                    code="mcp_result_too_large",
                )
        except BaseException:
            with trio.CancelScope(shield=True):
                await self._spend.cancel(hold, {**usage, "outcome": "not_completed"})
            raise
        cost = price.cost(size)
        usage.update(
            outcome="error" if result.is_error else "ok",
            result_bytes=size,
            duration_ms=round((trio.current_time() - started) * 1000),
        )
        # The charge is recorded before the result is reported, even if the caller has gone.
        with trio.CancelScope(shield=True):
            await self._spend.settle(hold, cost, usage)
        meta = {**(upstream_meta(result.meta) or {}), COST_META: cost, REQUEST_ID_META: request_id}
        return types.CallToolResult(
            content=result.content,
            structured_content=result.structured_content,
            is_error=result.is_error,
            _meta=meta,
        )
