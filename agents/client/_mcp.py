"""One MCP tool call through the gateway's ``/mcp``, with the official MCP SDK client.

The SDK is anyio-based, so this runs under asyncio (a notebook) and trio alike. A refusal by
the gateway (spending cap, tool not allowed…) arrives as a JSON-RPC error whose ``data`` holds
the HTTP status and code the same refusal gets over HTTP; a connection the gateway refuses
outright (a bad token) is asked again with one plain request to learn why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from agents.client._errors import BitRouterError
from agents.client._groups import single_errors
from agents.client._http import error_of, is_loopback
from agents.client._parse import mapping, maybe_int
from agents.client._tool_results import ToolResult

__all__ = ["call_tool"]


async def call_tool(
    base_url: str,
    token: str,
    name: str,
    arguments: Mapping[str, Any] | None,
    *,
    timeout: float,
) -> ToolResult:
    """Call tool ``name`` at ``{base_url}/mcp``.

    Raises:
        BitRouterError: the gateway refused the call or could not be reached.
    """
    import httpx2
    from mcp import Client, MCPError
    from mcp.client.streamable_http import streamable_http_client

    endpoint = f"{base_url}/mcp"
    headers = {"authorization": f"Bearer {token}"}
    try:
        with single_errors():
            async with (
                httpx2.AsyncClient(
                    headers=headers, timeout=timeout, trust_env=not is_loopback(base_url)
                ) as http,
                Client(streamable_http_client(endpoint, http_client=http)) as client,
            ):
                result = await client.call_tool(name, dict(arguments or {}))
    except MCPError as exc:
        data = mapping(exc.error.data)
        raise BitRouterError(
            exc.error.message,
            status=maybe_int(data, "status"),
            code=None if data.get("code") is None else str(data["code"]),
            type=None if data.get("type") is None else str(data["type"]),
        ) from None
    except (httpx2.HTTPError, OSError) as exc:
        raise await _diagnose(endpoint, headers, exc) from None
    return ToolResult.from_json(name, result.model_dump(mode="json", by_alias=True))


async def _diagnose(
    endpoint: str, headers: Mapping[str, str], failure: BaseException
) -> BitRouterError:
    body = {"jsonrpc": "2.0", "id": 0, "method": "tools/list", "params": {}}
    accept = {"accept": "application/json, text/event-stream"}
    try:
        async with httpx.AsyncClient(timeout=10, trust_env=not is_loopback(endpoint)) as http:
            answer = await http.post(endpoint, json=body, headers={**headers, **accept})
    except httpx.TransportError as exc:
        return BitRouterError(f"cannot reach the gateway at {endpoint} ({type(exc).__name__})")
    if answer.status_code >= 400:
        return error_of(answer)
    return BitRouterError(f"the MCP connection to {endpoint} failed ({type(failure).__name__})")
