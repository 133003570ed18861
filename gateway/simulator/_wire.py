"""What the app needs from each wire family, and the SSE framing they share."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from gateway.simulator._ask import Ask
from gateway.simulator._reply import Outcome

__all__ = ["Wire", "sse"]


def sse(data: Mapping[str, Any] | str, event: str | None = None) -> bytes:
    """One server-sent event: optional ``event:`` line, one ``data:`` line, blank line."""
    payload = data.encode() if isinstance(data, str) else orjson.dumps(data)
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + payload + b"\n\n"


@dataclass(frozen=True, slots=True)
class Wire:
    """One provider family's wire format, as plain functions."""

    family: str
    # (request body, provider, model named in the path or None) -> Ask; raises AskError
    parse: Callable[[Any, str, str | None], Ask]
    # (ask, outcome, response id) -> the JSON response body
    render: Callable[[Ask, Outcome, str], dict[str, Any]]
    # (ask, outcome, response id) -> every SSE event of the stream, in order
    events: Callable[[Ask, Outcome, str], list[bytes]]
    # (HTTP status, message) -> the family's error body
    error: Callable[[int, str], dict[str, Any]]
    # an SSE event whose data is not JSON, for the ``malformed`` fault
    malformed_event: bytes
    # prefix of the ids this family's responses carry
    id_prefix: str
