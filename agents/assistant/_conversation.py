"""One session's state, kept by the agent between turns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from acp.schema import HttpMcpServer

__all__ = ["Conversation"]


@dataclass
class Conversation:
    """The session's MCP servers and its messages so far."""

    servers: list[HttpMcpServer]
    messages: list[dict[str, Any]] = field(default_factory=list)
