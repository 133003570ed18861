"""Per-request control: ``[[sim:KEY=VALUE,...]]`` markers and ``x-sim-*`` headers.

Precedence, lowest first: the simulator's config, a fault queued on the control plane, the
request's ``x-sim-*`` headers, the marker in the last user message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = ["FAULT_KINDS", "Control", "ControlError", "FaultKind", "resolve_control"]

FaultKind = Literal[
    "429", "500", "503", "reset", "timeout", "cut", "malformed", "ignore_max_tokens"
]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)

_MARKER = re.compile(r"\[\[sim:([^\]]*)\]\]")
_HEADER_PREFIX = "x-sim-"


class ControlError(ValueError):
    """A marker, header or queued fault names an unknown key or a bad value."""


class Control(BaseModel):
    """What one request asked of the simulator."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fault: FaultKind | None = None
    tokens: Annotated[int, Field(ge=0, le=32_768)] | None = None
    reasoning: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    cached: Annotated[int, Field(ge=0)] = 0
    cache_write: Annotated[int, Field(ge=0)] = 0
    ttft_ms: Annotated[int, Field(ge=0, le=60_000)] | None = None
    chunk_delay_ms: Annotated[int, Field(ge=0, le=10_000)] | None = None
    retry_after: Annotated[int, Field(ge=0, le=3600)] = 1


def _marker_values(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for marker in _MARKER.finditer(text):
        for item in marker.group(1).split(","):
            key, sep, value = item.strip().partition("=")
            if not key:
                continue
            # a bare item is a fault kind: [[sim:429]] is [[sim:fault=429]]
            values.update({key.strip(): value.strip()} if sep else {"fault": key})
    return values


def _header_values(headers: Mapping[str, str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, value in headers.items():
        lowered = name.lower()
        if lowered.startswith(_HEADER_PREFIX):
            values[lowered.removeprefix(_HEADER_PREFIX).replace("-", "_")] = value.strip()
    return values


def resolve_control(
    *, queued: Mapping[str, Any], headers: Mapping[str, str], last_user_text: str
) -> Control:
    """The request's :class:`Control`, merged from queue, headers and marker.

    Raises:
        ControlError: an unknown key or a value out of range, named in the message.
    """
    merged: dict[str, Any] = {**queued, **_header_values(headers), **_marker_values(last_user_text)}
    try:
        return Control.model_validate(merged)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"]) or "control"
        if error["type"] == "extra_forbidden":
            known = ", ".join(Control.model_fields)
            raise ControlError(f"unknown simulator control {key!r} (known: {known})") from None
        if key == "fault":
            kinds = ", ".join(FAULT_KINDS)
            raise ControlError(
                f"unknown simulator fault {merged['fault']!r} (kinds: {kinds})"
            ) from None
        raise ControlError(f"simulator control {key}: {error['msg']}") from None
