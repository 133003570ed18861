"""A small MCP server over stdio for the tests (run as a script by the gateway under test).

If ``UPSTREAM_BLOCK_FILE`` names a file that exists, it exits at once: a server stuck in a
crash loop, until the test removes the file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("files", log_level="WARNING")


@server.tool()
def echo(text: str) -> str:
    """Say it back."""
    return f"echo: {text}"


@server.tool()
def pid() -> int:
    """The process id of this server."""
    return os.getpid()


@server.tool()
def blob(size: int) -> str:
    """A text of ``size`` bytes."""
    return "x" * size


@server.tool()
def broken() -> str:
    """Always fails (the tool's own error)."""
    raise ToolError("the disk is on fire")


@server.tool()
async def grow(ctx: Context) -> str:
    """Adds the tool ``fresh`` and announces the change."""
    server.add_tool(lambda: "fresh!", name="fresh", description="Added at run time.")
    await ctx.notify_tools_changed()
    await ctx.session.send_tool_list_changed()
    return "grown"


@server.resource("notes://today")
def today() -> str:
    """Today's note."""
    return "buy milk"


@server.prompt()
def review(topic: str) -> str:
    """Ask for a review."""
    return f"Please review {topic}."


if __name__ == "__main__":
    block = os.environ.get("UPSTREAM_BLOCK_FILE")
    if block and Path(block).exists():
        sys.exit(3)
    anyio.run(server.run_stdio_async, backend="trio")
