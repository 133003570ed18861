"""Trying candidates in rank order until one answers.

Another candidate is tried after 408/429/5xx, a timeout, a connection error, a malformed answer
(and 401/403/404, which say "this provider" rather than "this request") — always before the
first byte reached the caller, since a stream is only returned once its first event arrived.
A 4xx caused by the request is the caller's to fix: it is reported at once, never retried.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import trio

from gateway.errors import (
    BadRequest,
    GatewayError,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from gateway.providers import UpstreamFailure
from gateway.routing._decision import Candidate, Decision
from gateway.routing._health import HealthBoard

__all__ = ["Attempt", "call_with_failover", "no_candidates_error"]

T = TypeVar("T")
_REQUEST_CODES = frozenset(
    {"ignored", "not_in_only", "max_price", "fallbacks_disabled", "unsupported"}
)


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try of one provider."""

    provider: str
    outcome: str  # "ok" or the failure kind
    seconds: float
    status: int | None = None


def no_candidates_error(decision: Decision) -> GatewayError:
    """The error when every provider of the model was left out before trying any."""
    reasons = "; ".join(f"{e.provider}: {e.reason}" for e in decision.excluded) or "none listed"
    codes = {e.code for e in decision.excluded}
    if codes & _REQUEST_CODES:
        return BadRequest(
            f"no provider of {decision.model} fits the request's provider preferences ({reasons})",
            code="no_matching_provider",
            param="provider",
        )
    return UpstreamUnavailable(f"no provider can serve {decision.model} now ({reasons})")


def _exhausted(model: str, failures: Sequence[UpstreamFailure]) -> UpstreamError:
    detail = "; ".join(f.message for f in failures)
    message = f"every provider failed for {model}: {detail}"
    if all(f.kind == "timeout" for f in failures):
        return UpstreamTimeout(message)
    if all(f.upstream_status in (429, 503) for f in failures):
        return UpstreamUnavailable(message)
    return UpstreamError(message)


async def call_with_failover(
    decision: Decision,
    call: Callable[[Candidate], Awaitable[T]],
    health: HealthBoard,
    *,
    max_attempts: int,
    clock: Callable[[], float] = trio.current_time,
    candidates: Sequence[Candidate] | None = None,
    attempts: list[Attempt] | None = None,
) -> tuple[T, Candidate]:
    """The first successful ``call`` over the candidates, recording each provider's health.

    ``candidates`` overrides the decision's list; each try is appended to ``attempts``.

    Raises:
        BadRequest: a provider rejected the request itself (4xx); no other is tried.
        UpstreamError: every candidate failed (UpstreamTimeout if all timed out,
            UpstreamUnavailable if all were rate-limited, unavailable or left out).
    """
    pool = decision.candidates if candidates is None else candidates
    if not pool:
        raise no_candidates_error(decision)
    attempts = [] if attempts is None else attempts
    failures: list[UpstreamFailure] = []
    for candidate in pool[:max_attempts]:
        started = clock()
        try:
            result = await call(candidate)
        except UpstreamFailure as failure:
            elapsed = clock() - started
            attempts.append(
                Attempt(candidate.provider, failure.kind, elapsed, failure.upstream_status)
            )
            if failure.request_fault:
                health.success(candidate.provider)  # it answered; the request was at fault
                raise BadRequest(failure.message, code="upstream_rejected_request") from None
            health.failure(candidate.provider)
            failures.append(failure)
            continue
        elapsed = clock() - started
        health.success(candidate.provider, ttft=elapsed)
        attempts.append(Attempt(candidate.provider, "ok", elapsed))
        return result, candidate
    raise _exhausted(decision.model, failures)
