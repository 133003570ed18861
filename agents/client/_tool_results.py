"""MCP tools and ACP agents as the client returns them: listings, a tool call, an agent turn."""

from __future__ import annotations

import html
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from agents.client import _html
from agents.client._frames import frame
from agents.client._parse import integer, mapping, maybe_int, text

__all__ = [
    "AgentInfo",
    "AgentList",
    "AgentToolCall",
    "AgentTurn",
    "ToolInfo",
    "ToolList",
    "ToolResult",
]

COST_META = "bitrouter/cost_micro_usd"
REQUEST_ID_META = "bitrouter/request_id"


def _reply(body: str) -> str:
    return (
        '<blockquote style="white-space: pre-wrap; margin: 4px 0 8px; padding: 6px 10px; '
        f'border-left: 3px solid #4c78a8; background: #f6f8fa">{html.escape(body)}</blockquote>'
    )


@dataclass(frozen=True, slots=True)
class ToolInfo:
    """A tool the caller may call (``server__tool``), with its price in µUSD."""

    name: str
    description: str
    server: str | None
    per_call_micro_usd: int | None
    per_kb_micro_usd: int | None
    available: bool


@dataclass(frozen=True, slots=True)
class ToolList:
    """The MCP tools the caller's token may call."""

    tools: tuple[ToolInfo, ...]

    def __len__(self) -> int:
        return len(self.tools)

    def __iter__(self) -> Iterator[ToolInfo]:
        return iter(self.tools)

    @property
    def names(self) -> list[str]:
        """The tool names."""
        return [t.name for t in self.tools]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ToolList:
        """From the body of ``GET /v1/tools``."""
        tools = []
        for item in map(mapping, data.get("data") or ()):
            price = item.get("price")
            tools.append(
                ToolInfo(
                    name=text(item, "name"),
                    description=text(item, "description"),
                    server=item.get("server"),
                    per_call_micro_usd=maybe_int(mapping(price), "per_call_micro_usd"),
                    per_kb_micro_usd=maybe_int(mapping(price), "per_kb_micro_usd"),
                    available=bool(item.get("available", True)),
                )
            )
        return cls(tuple(tools))

    def _rows(self) -> list[tuple[Any, ...]]:
        return [
            (
                t.name,
                t.server,
                t.per_call_micro_usd,
                t.per_kb_micro_usd,
                t.available,
                t.description.split("\n")[0][:100],
            )
            for t in self.tools
        ]

    def to_pandas(self) -> Any:
        """One row per tool."""
        columns = ("name", "server", "per_call_micro_usd", "per_kb_micro_usd", "available")
        return frame((*columns, "description"), self._rows())

    def _repr_html_(self) -> str:
        columns = ("tool", "server", "µUSD per call", "µUSD per KiB", "available", "description")
        title = f"{len(self.tools)} tools"
        return _html.block(_html.table(columns, self._rows(), title=title))


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What one MCP tool call returned, and what it cost."""

    name: str
    text: str
    structured: Any
    is_error: bool
    cost_micro_usd: int | None
    request_id: str | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, name: str, data: Mapping[str, Any]) -> ToolResult:
        """From an MCP ``CallToolResult`` as JSON (``content``, ``structuredContent``…)."""
        texts = [
            text(c, "text")
            for c in map(mapping, data.get("content") or ())
            if c.get("type") == "text"
        ]
        meta = mapping(data.get("_meta"))
        request_id = meta.get(REQUEST_ID_META)
        return cls(
            name=name,
            text="\n".join(texts),
            structured=data.get("structuredContent"),
            is_error=bool(data.get("isError")),
            cost_micro_usd=maybe_int(meta, COST_META),
            request_id=None if request_id is None else str(request_id),
            raw=data,
        )

    def _repr_html_(self) -> str:
        pairs: list[tuple[str, Any]] = [
            ("tool", self.name),
            ("error", self.is_error),
            ("cost (µUSD)", self.cost_micro_usd),
        ]
        return _html.block(_reply(self.text), _html.fields(pairs))


@dataclass(frozen=True, slots=True)
class AgentInfo:
    """A hosted ACP agent with its price per turn (µUSD) and state."""

    id: str
    description: str
    price_per_turn_micro_usd: int
    max_sessions: int
    active_sessions: int
    status: str
    error: str | None
    agent_name: str | None
    agent_version: str | None


@dataclass(frozen=True, slots=True)
class AgentList:
    """The agents a gateway hosts at ``/acp``."""

    agents: tuple[AgentInfo, ...]

    def __len__(self) -> int:
        return len(self.agents)

    def __iter__(self) -> Iterator[AgentInfo]:
        return iter(self.agents)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AgentList:
        """From the body of ``GET /v1/agents``."""
        agents = []
        for item in map(mapping, data.get("data") or ()):
            info = mapping(item.get("agent_info"))
            agents.append(
                AgentInfo(
                    id=text(item, "id"),
                    description=text(item, "description"),
                    price_per_turn_micro_usd=integer(item, "price_per_turn_micro_usd"),
                    max_sessions=integer(item, "max_sessions"),
                    active_sessions=integer(item, "active_sessions"),
                    status=text(item, "status"),
                    error=item.get("error"),
                    agent_name=info.get("name"),
                    agent_version=info.get("version"),
                )
            )
        return cls(tuple(agents))

    def _rows(self) -> list[tuple[Any, ...]]:
        return [
            (
                a.id,
                a.status,
                a.price_per_turn_micro_usd,
                a.active_sessions,
                a.max_sessions,
                a.description,
            )
            for a in self.agents
        ]

    def to_pandas(self) -> Any:
        """One row per agent."""
        columns = ("id", "status", "price_per_turn_micro_usd", "active_sessions", "max_sessions")
        return frame((*columns, "description"), self._rows())

    def _repr_html_(self) -> str:
        columns = ("agent", "status", "µUSD per turn", "sessions", "max", "description")
        title = f"{len(self.agents)} hosted agents"
        return _html.block(_html.table(columns, self._rows(), title=title))


@dataclass(frozen=True, slots=True)
class AgentToolCall:
    """A tool call an agent made during a turn, as its updates reported it."""

    id: str
    title: str
    kind: str | None
    status: str | None


@dataclass(frozen=True, slots=True)
class AgentTurn:
    """One prompt turn of a hosted agent: its reply, its tool calls and the turn's price.

    ``cost_micro_usd`` is the agent's price for the turn; the model and tool calls the agent
    made are charged to you separately and show in ``usage()``.
    """

    agent: str
    session_id: str
    text: str
    stop_reason: str | None
    cost_micro_usd: int | None
    tool_calls: tuple[AgentToolCall, ...]
    permissions: tuple[str, ...]
    updates: tuple[Mapping[str, Any], ...] = field(default=(), repr=False)

    def _repr_html_(self) -> str:
        pairs: list[tuple[str, Any]] = [
            ("agent", self.agent),
            ("stop reason", self.stop_reason),
            ("turn price (µUSD)", self.cost_micro_usd),
            ("permissions granted", list(self.permissions) or None),
        ]
        calls = ""
        if self.tool_calls:
            rows = [(c.title, c.kind, c.status) for c in self.tool_calls]
            calls = _html.table(("tool call", "kind", "status"), rows, title="tool calls")
        return _html.block(_reply(self.text), _html.fields(pairs), calls)
