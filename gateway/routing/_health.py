"""Observed provider health: a circuit breaker, an error rate and latency, per provider.

The breaker opens after ``failure_threshold`` consecutive failures, lets calls through again
(half-open) once ``cooldown_seconds`` have passed, closes on the next success and re-opens on
the next failure. Error rate, time to first token and throughput are exponentially weighted
moving averages, so recent calls count most. Times come from an injected clock (trio's by
default), which tests drive with ``MockClock``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import trio

__all__ = ["BreakerState", "HealthBoard", "HealthView"]

BreakerState = Literal["closed", "open", "half_open"]
_ERROR_WEIGHT = 0.2
_LATENCY_WEIGHT = 0.3


@dataclass(slots=True)
class _Provider:
    failures: int = 0
    opened_at: float | None = None
    error_rate: float = 0.0
    ttft: float | None = None
    throughput: float | None = None
    calls: int = 0


@dataclass(frozen=True, slots=True)
class HealthView:
    """A provider's health as the router sees it now."""

    state: BreakerState
    consecutive_failures: int
    error_rate: float
    ttft_seconds: float | None
    throughput_tps: float | None
    calls: int
    retry_in_seconds: float | None = None

    def to_dict(self) -> dict[str, object]:
        """The JSON-ready health block of a routing decision."""
        return {
            "breaker": self.state,
            "consecutive_failures": self.consecutive_failures,
            "error_rate": round(self.error_rate, 4),
            "ttft_ms": None if self.ttft_seconds is None else round(self.ttft_seconds * 1000, 1),
            "throughput_tps": None
            if self.throughput_tps is None
            else round(self.throughput_tps, 1),
            "calls": self.calls,
            "retry_in_seconds": self.retry_in_seconds,
        }


_UNOBSERVED = HealthView("closed", 0, 0.0, None, None, 0)  # immutable: shared safely


def _ewma(old: float | None, new: float, weight: float) -> float:
    return new if old is None else old + weight * (new - old)


class HealthBoard:
    """Health of every provider this process has called."""

    def __init__(
        self,
        failure_threshold: int = 3,
        cooldown_seconds: float = 30.0,
        clock: Callable[[], float] = trio.current_time,
    ) -> None:
        self._threshold = failure_threshold
        self._cooldown = cooldown_seconds
        self._clock = clock
        self._providers: dict[str, _Provider] = {}

    def _entry(self, provider: str) -> _Provider:
        entry = self._providers.get(provider)
        if entry is None:
            entry = self._providers[provider] = _Provider()
        return entry

    def state(self, provider: str) -> BreakerState:
        """``closed`` (normal), ``open`` (skip it) or ``half_open`` (cooled down, try again)."""
        entry = self._providers.get(provider)
        if entry is None or entry.opened_at is None:
            return "closed"
        if self._clock() - entry.opened_at >= self._cooldown:
            return "half_open"
        return "open"

    def view(self, provider: str) -> HealthView:
        """The provider's breaker state, error rate and latencies."""
        entry = self._providers.get(provider)
        if entry is None:
            return _UNOBSERVED

        state = self.state(provider)
        retry = None
        if state == "open" and entry.opened_at is not None:
            retry = round(entry.opened_at + self._cooldown - self._clock(), 3)
        return HealthView(
            state,
            entry.failures,
            entry.error_rate,
            entry.ttft,
            entry.throughput,
            entry.calls,
            retry,
        )

    def success(self, provider: str, ttft: float | None = None) -> None:
        """A call answered: close the breaker and fold in its time to first token."""
        entry = self._entry(provider)
        entry.calls += 1
        entry.failures = 0
        entry.opened_at = None
        entry.error_rate = _ewma(entry.error_rate, 0.0, _ERROR_WEIGHT)
        if ttft is not None:
            entry.ttft = _ewma(entry.ttft, ttft, _LATENCY_WEIGHT)

    def throughput(self, provider: str, tokens: int, seconds: float) -> None:
        """Fold in the output rate of a finished call."""
        if tokens > 0 and seconds > 0:
            entry = self._entry(provider)
            entry.throughput = _ewma(entry.throughput, tokens / seconds, _LATENCY_WEIGHT)

    def failure(self, provider: str) -> None:
        """A call failed because of the provider: count it, open the breaker at the threshold."""
        entry = self._entry(provider)
        entry.calls += 1
        entry.failures += 1
        entry.error_rate = _ewma(entry.error_rate, 1.0, _ERROR_WEIGHT)
        half_open = entry.opened_at is not None
        if half_open or entry.failures >= self._threshold:
            entry.opened_at = self._clock()
