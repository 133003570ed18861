"""What one simulator instance remembers: queued faults, request counts, recent requests."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gateway.simulator._control import FaultKind

__all__ = ["FaultOrder", "SimulatorState"]

_RECENT = 100


class FaultOrder(BaseModel):
    """``POST /_sim/faults``: fail the next ``count`` requests for a provider (and model)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: Annotated[str, Field(min_length=1)]
    model: str | None = None
    kind: FaultKind
    count: Annotated[int, Field(ge=1, le=100_000)] = 1
    retry_after: Annotated[int, Field(ge=0, le=3600)] | None = None

    @field_validator("kind", mode="before")
    @classmethod
    def _kind_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value


@dataclass
class _Queued:
    order: FaultOrder
    remaining: int


class SimulatorState:
    """The mutable part of one simulator app; lives and dies with the app."""

    def __init__(self) -> None:
        self._queue: list[_Queued] = []
        self._counts: dict[str, dict[str, int]] = {}
        self._recent: deque[dict[str, Any]] = deque(maxlen=_RECENT)
        self._serial = 0

    def queue_fault(self, order: FaultOrder) -> None:
        """Queue ``order`` behind any earlier ones."""
        self._queue.append(_Queued(order, order.count))

    def take_fault(self, provider: str, model: str) -> dict[str, Any]:
        """Consume the oldest queued fault matching this request, as control values."""
        for queued in self._queue:
            order = queued.order
            if order.provider == provider and order.model in (None, model):
                queued.remaining -= 1
                if queued.remaining == 0:
                    self._queue.remove(queued)
                values: dict[str, Any] = {"fault": order.kind}
                if order.retry_after is not None:
                    values["retry_after"] = order.retry_after
                return values
        return {}

    def count_request(self, provider: str, route: str) -> None:
        """Count a request that reached ``route`` of ``provider``, whatever its outcome."""
        routes = self._counts.setdefault(provider, {})
        routes[route] = routes.get(route, 0) + 1

    def note_request(self, summary: dict[str, Any]) -> None:
        """Remember what a parsed request asked for (never its credentials)."""
        self._recent.append(summary)

    def next_serial(self) -> int:
        """A number unique within this simulator, for response ids."""
        self._serial += 1
        return self._serial

    def snapshot(self) -> dict[str, Any]:
        """The body of ``GET /_sim/stats``."""
        return {
            "simulator": True,
            "requests": {provider: dict(routes) for provider, routes in self._counts.items()},
            "total": sum(sum(routes.values()) for routes in self._counts.values()),
            "pending_faults": [
                {**queued.order.model_dump(exclude={"count"}), "remaining": queued.remaining}
                for queued in self._queue
            ],
            "recent": list(self._recent),
        }

    def reset(self) -> None:
        """Forget queued faults, counts and recent requests."""
        self._queue.clear()
        self._counts.clear()
        self._recent.clear()
