"""Reading JSON answers leniently: a missing or null number is 0, times become datetimes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = ["integer", "mapping", "maybe_int", "text", "when"]


def mapping(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a JSON object, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def integer(data: Mapping[str, Any], key: str) -> int:
    """An integer field; 0 when absent or null."""
    value = data.get(key)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def maybe_int(data: Mapping[str, Any], key: str) -> int | None:
    """An integer field; None when absent or null."""
    value = data.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    return None


def text(data: Mapping[str, Any], key: str, default: str = "") -> str:
    """A string field."""
    value = data.get(key)
    return default if value is None else str(value)


def when(value: Any) -> datetime | None:
    """A time given as unix seconds or ISO 8601, in UTC; None when absent or unreadable."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None
