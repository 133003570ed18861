"""JSON-RPC 2.0 messages as ACP uses them: plain dicts, classified and built here.

ACP's wire is JSON-RPC 2.0 with newline-delimited framing on stdio and one message per POST or
SSE event remotely; batches are not used. Gateway errors become JSON-RPC errors with their own
``jsonrpc_code`` and the same message the HTTP faces give, with ``type``/``code``/``status`` in
``data`` so that a client can tell a spending refusal from an agent failure.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import ValidationError

from gateway.errors import GatewayError

__all__ = [
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "METHOD_NOT_FOUND",
    "JsonObject",
    "RpcError",
    "decode",
    "encode",
    "error_response",
    "invalid_params",
    "is_notification",
    "is_request",
    "is_response",
    "notification",
    "request",
    "result_response",
    "session_id_of",
]

JsonObject = dict[str, Any]

INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603


class RpcError(Exception):
    """A JSON-RPC error: from a peer's response, or one the gateway answers with."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    @classmethod
    def from_gateway(cls, error: GatewayError) -> RpcError:
        """The JSON-RPC form of a gateway error (same message, its ``jsonrpc_code``)."""
        data = {"type": error.error_type, "code": error.code, "status": error.status}
        return cls(error.jsonrpc_code, error.message, data)

    @classmethod
    def from_wire(cls, error: Any) -> RpcError:
        """The error object of a response (tolerating a malformed one)."""
        if not isinstance(error, dict):
            return cls(INTERNAL_ERROR, "the agent answered with a malformed error")
        code = error.get("code")
        message = error.get("message")
        return cls(
            code if isinstance(code, int) else INTERNAL_ERROR,
            message if isinstance(message, str) else "error",
            error.get("data"),
        )

    def to_wire(self) -> JsonObject:
        """The ``error`` member of a response."""
        wire: JsonObject = {"code": self.code, "message": self.message}
        if self.data is not None:
            wire["data"] = self.data
        return wire


def invalid_params(method: str, exc: ValidationError) -> RpcError:
    """The error for parameters the ACP schema refuses, naming the first field at fault."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "params"
    return RpcError(INVALID_PARAMS, f"{method}: {where}: {first['msg']}", {"param": where})


def is_request(message: JsonObject) -> bool:
    """A request: has a method and an id."""
    return "method" in message and "id" in message


def is_notification(message: JsonObject) -> bool:
    """A notification: has a method and no id."""
    return "method" in message and "id" not in message


def is_response(message: JsonObject) -> bool:
    """A response: has an id and no method."""
    return "id" in message and "method" not in message


def request(request_id: int | str, method: str, params: Any) -> JsonObject:
    """A request message."""
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}


def notification(method: str, params: Any) -> JsonObject:
    """A notification message."""
    return {"jsonrpc": "2.0", "method": method, "params": params}


def result_response(request_id: Any, result: Any) -> JsonObject:
    """A successful response."""
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def error_response(request_id: Any, error: RpcError) -> JsonObject:
    """An error response."""
    return {"jsonrpc": "2.0", "id": request_id, "error": error.to_wire()}


def session_id_of(message: JsonObject) -> str | None:
    """``params.sessionId`` of a request or notification, if it has one."""
    params = message.get("params")
    if isinstance(params, dict):
        value = params.get("sessionId")
        if isinstance(value, str):
            return value
    return None


def encode(message: JsonObject) -> bytes:
    """One message as compact JSON (no newline)."""
    return orjson.dumps(message)


def decode(data: bytes | str) -> JsonObject | None:
    """One message, or None when ``data`` is not a JSON object."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
