"""``GET /v1/tools``: the MCP tools the caller's token may call, with their prices."""

from __future__ import annotations

from pydantic import BaseModel
from quart import Blueprint, Response

from gateway.http._auth import authenticate
from gateway.http._openapi import RouteSpec
from gateway.http._respond import json_response
from gateway.http._state import runtime
from gateway.mcp import McpFace

__all__ = ["ROUTES", "ToolList", "blueprint"]


class ToolPriceModel(BaseModel):
    """What one call costs (µUSD): per call, plus per KiB of returned content."""

    per_call_micro_usd: int
    per_kb_micro_usd: int


class ToolCard(BaseModel):
    """One tool as ``/mcp`` offers it (``server__tool``, or a gateway tool without a server)."""

    name: str
    description: str
    server: str | None
    price: ToolPriceModel | None
    available: bool


class ToolList(BaseModel):
    """The OpenAI-style list shape."""

    object: str = "list"
    data: list[ToolCard]


ROUTES = (
    RouteSpec(
        "GET",
        "/v1/tools",
        "The MCP tools this token may call, with their prices",
        "api",
        response=ToolList,
    ),
)


def _face() -> McpFace:
    return runtime().mcp


def blueprint() -> Blueprint:
    """The tool listing route."""
    bp = Blueprint("tools", __name__)

    @bp.get("/v1/tools")
    async def tools() -> Response:
        principal = await authenticate("api")
        data = await _face().list_tools_for(principal)
        return json_response({"object": "list", "data": data})

    return bp
