"""``GET /v1/agents``: the hosted ACP agents, with their prices, limits and capabilities."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from quart import Blueprint, Response

from gateway.http._openapi import RouteSpec
from gateway.http._respond import json_response
from gateway.http._state import runtime

__all__ = ["ROUTES", "AgentList", "blueprint"]


class AgentCard(BaseModel):
    """One hosted agent (reached at ``/acp/{id}``)."""

    id: str
    object: str = "agent"
    description: str
    price_per_turn_micro_usd: int
    max_sessions: int
    active_sessions: int
    idle_timeout_seconds: float
    status: str
    error: str | None = None
    protocol_version: int | None = None
    agent_info: dict[str, Any] | None = None
    capabilities: dict[str, Any] | None = None


class AgentList(BaseModel):
    """The OpenAI list shape."""

    object: str = "list"
    data: list[AgentCard]


ROUTES = (
    RouteSpec(
        "GET",
        "/v1/agents",
        "The hosted ACP agents with their prices and capabilities",
        "none",
        response=AgentList,
    ),
)


def blueprint() -> Blueprint:
    """The agent listing route."""
    bp = Blueprint("agents", __name__)

    @bp.get("/v1/agents")
    async def agents() -> Response:
        # ``Runtime.acp`` is the AcpFace, or None when the gateway hosts no agents.
        face = getattr(runtime(), "acp", None)
        data = face.list_agents() if face is not None else []
        return json_response({"object": "list", "data": data})

    return bp
