"""System routes: ``/health``, ``/metrics``, ``/openapi.json``."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from quart import Blueprint, Response, current_app

from gateway import __version__
from gateway.http._openapi import RouteSpec, openapi_document
from gateway.http._respond import json_response
from gateway.http._state import runtime
from gateway.runtime import SIMULATOR_NOTE

__all__ = ["ROUTES", "Health", "blueprint"]


class Health(BaseModel):
    """``GET /health``: the gateway answers, with how it serves models."""

    status: str
    version: str
    mode: str
    listen: str
    models: int
    simulator: str | None = None
    simulator_url: str | None = None


ROUTES = (
    RouteSpec(
        "GET",
        "/health",
        "Liveness, mode and whether a simulator serves models",
        "none",
        response=Health,
    ),
    RouteSpec("GET", "/metrics", "Prometheus metrics", "none", content_type="text/plain"),
    RouteSpec("GET", "/openapi.json", "This document", "none"),
)


def blueprint() -> Blueprint:
    """The system routes."""
    bp = Blueprint("system", __name__)

    @bp.get("/health")
    async def health() -> Response:
        rt = runtime()
        note = SIMULATOR_NOTE if rt.simulated else None
        body = Health(
            status="ok",
            version=__version__,
            mode=rt.settings.mode,
            listen=rt.settings.listen,
            models=len(rt.catalog),
            simulator=note,
            simulator_url=rt.simulator_url,
        )
        return json_response(body.model_dump(exclude_none=True))

    @bp.get("/metrics")
    async def metrics() -> Response:
        data = generate_latest(runtime().metrics.registry)
        return Response(data, content_type=CONTENT_TYPE_LATEST)

    @bp.get("/openapi.json")
    async def openapi() -> Response:
        return json_response(openapi_document(current_app.config["BITROUTER_ROUTES"], __version__))

    return bp
