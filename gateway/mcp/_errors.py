"""Gateway errors as MCP errors, one to one.

A refused call is a JSON-RPC error (the SDK client raises ``MCPError`` with this code and
message), not an ``isError`` tool result: a refusal is the gateway's answer, not the tool's, and
an agent must not mistake it for tool output. ``data`` carries the OpenAI-style ``type`` and
``code`` and the HTTP status the same refusal gets on the HTTP face.
"""

from __future__ import annotations

from mcp.shared.exceptions import MCPError

from gateway.errors import GatewayError

__all__ = ["to_mcp_error"]


def to_mcp_error(error: GatewayError) -> MCPError:
    """The MCP error for a gateway error (its ``jsonrpc_code`` and ``message``)."""
    data = {"type": error.error_type, "code": error.code, "status": error.status}
    return MCPError(code=error.jsonrpc_code, message=error.message, data=data)
