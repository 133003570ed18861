"""Building responses: JSON via orjson, the OpenAI error shape for every error."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from quart import Response, request
from werkzeug.exceptions import HTTPException

from gateway.errors import GatewayError, MethodNotAllowed, NotFound, PayloadTooLarge
from gateway.http._observe import REQUEST_ID_KEY

__all__ = ["error_response", "json_response", "request_id"]

_log = logging.getLogger("bitrouter.http")


def request_id() -> str:
    """The id of the current request (set by the observe middleware)."""
    value = request.scope.get(REQUEST_ID_KEY)
    return value if isinstance(value, str) else "req_unknown"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response serialised with orjson."""
    return Response(
        orjson.dumps(body), status=status, headers=headers, content_type="application/json"
    )


def error_response(error: GatewayError) -> Response:
    """The OpenAI error shape ``{"error": {...}}`` with the error's status and headers."""
    return json_response(error.to_openai(), error.status, error.headers())


async def on_gateway_error(error: GatewayError) -> Response:
    """Quart handler: a known error, mapped 1:1."""
    return error_response(error)


async def on_http_exception(error: HTTPException) -> Response:
    """Quart handler: routing errors (404, 405, 413, …) in the OpenAI shape."""
    code = error.code or 500
    mapped: GatewayError
    if code == 404:
        mapped = NotFound(f"no route {request.method} {request.path}", code="unknown_route")
    elif code == 405:
        mapped = MethodNotAllowed(f"{request.method} is not allowed on {request.path}")
    elif code == 413:
        mapped = PayloadTooLarge("the request body is larger than the server accepts")
    else:
        return json_response(GatewayError(error.description or error.name).to_openai(), code)
    return error_response(mapped)


async def on_unexpected(error: Exception) -> Response:
    """Quart handler of last resort: log with the request id, answer without internals."""
    rid = request_id()
    _log.error("unhandled error in request %s: %s", rid, type(error).__name__, exc_info=error)
    return error_response(GatewayError(f"internal error (request {rid})"))
