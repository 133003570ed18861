"""OpenAPI 3.1 generated from the same pydantic models that validate the requests."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

__all__ = ["RouteSpec", "openapi_document"]

_ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "code": {"type": "string"},
                "param": {"type": ["string", "null"]},
            },
            "required": ["message", "type", "code"],
        }
    },
    "required": ["error"],
}


@dataclass(frozen=True)
class RouteSpec:
    """One HTTP route as documented: method, path, auth and its wire models."""

    method: str
    path: str
    summary: str
    auth: Literal["none", "api", "admin"] = "api"
    request: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    streams: bool = False
    content_type: str = "application/json"


def _parameters(query: type[BaseModel]) -> list[dict[str, Any]]:
    schema = query.model_json_schema()
    required = set(schema.get("required", ()))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


def openapi_document(routes: Iterable[RouteSpec], version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``routes``."""
    routes = list(routes)
    models = {m for r in routes for m in (r.request, r.response) if m is not None}
    keyed: list[tuple[type[BaseModel], Literal["validation"]]] = [
        (m, "validation") for m in sorted(models, key=lambda m: m.__name__)
    ]
    refs, defs = models_json_schema(keyed, ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    schemas["Error"] = _ERROR
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        op: dict[str, Any] = {"summary": route.summary, "responses": {}}
        if route.auth != "none":
            op["security"] = [{"bearer": []}]
            op["description"] = f"Needs a token with scope `{route.auth}`."
        if route.query is not None:
            op["parameters"] = _parameters(route.query)
        if route.request is not None:
            ref = refs[(route.request, "validation")]
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref}}}
        ok: dict[str, Any] = {"description": "OK"}
        if route.response is not None:
            ok["content"] = {route.content_type: {"schema": refs[(route.response, "validation")]}}
        elif route.content_type != "application/json":
            ok["content"] = {route.content_type: {"schema": {"type": "string"}}}
        if route.streams:
            ok.setdefault("content", {})["text/event-stream"] = {"schema": {"type": "string"}}
        op["responses"]["200"] = ok
        op["responses"]["default"] = {
            "description": "An error in the OpenAI shape",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        paths.setdefault(route.path, {})[route.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "BitRouter gateway", "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }
