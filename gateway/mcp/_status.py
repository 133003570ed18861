"""What the face reports about an upstream MCP server's health (no SDK needed to read it)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["UpstreamStatus"]


@dataclass(frozen=True)
class UpstreamStatus:
    """A snapshot of one upstream's health."""

    name: str
    transport: str
    connected: bool
    error: str | None
    connections: int
    tools: int
