"""The MCP face: the operator's MCP servers and the gateway's own tools at ``/mcp``.

Typical wiring (the composition root)::

    face = McpFace(settings, authenticate=..., check_tool=verifier.check_tool,
                   spend=ledger_guard, tools=gateway_tools)
    await nursery.start(face.run)          # connects upstreams, runs the SDK session manager
    # route every path under /mcp to face.asgi; GET /v1/tools uses face.list_tools_for
"""

from gateway.mcp._face import McpFace
from gateway.mcp._ports import Authenticate, CheckTool, GatewayTools, SpendGuard
from gateway.mcp._pricing import ToolPrice
from gateway.mcp._status import UpstreamStatus
from gateway.metering import MemoryHold, MemorySpendGuard

__all__ = [
    "Authenticate",
    "CheckTool",
    "GatewayTools",
    "McpFace",
    "MemoryHold",
    "MemorySpendGuard",
    "SpendGuard",
    "ToolPrice",
    "UpstreamStatus",
]
