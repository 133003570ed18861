from __future__ import annotations

from typing import Any

import pytest

from gateway.errors import (
    BadRequest,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from gateway.openai_wire import parse_chat_request
from gateway.providers import UpstreamFailure
from gateway.routing import Attempt, Candidate, Router, call_with_failover


def router(make_router: Any) -> Router:
    return make_router(simulator={"mode": "off"}, routing={"breaker": {"failure_threshold": 1}})


def status(provider: str, code: int) -> UpstreamFailure:
    return UpstreamFailure(
        provider,
        "status",
        f"{provider} answered HTTP {code}",
        status=code,
        request_fault=code in (400, 422),
    )


@pytest.mark.req("ROUTE-5")
async def test_failover_moves_on_after_provider_failures_and_records_health(
    make_router: Any,
) -> None:
    r = router(make_router)
    decision = r.decide("acme/chat-1")
    tried: list[str] = []

    async def call(candidate: Candidate) -> str:
        tried.append(candidate.provider)
        if candidate.provider == "cheap":
            raise status("cheap", 500)
        if candidate.provider == "mid":
            raise UpstreamFailure("mid", "timeout", "mid did not answer within 60s")
        return f"answer from {candidate.provider}"

    attempts: list[Attempt] = []
    result, chosen = await call_with_failover(
        decision, call, r.health, max_attempts=3, attempts=attempts
    )
    assert result == "answer from claude" and chosen.provider == "claude"
    assert tried == ["cheap", "mid", "claude"]
    assert [(a.provider, a.outcome) for a in attempts] == [
        ("cheap", "status"),
        ("mid", "timeout"),
        ("claude", "ok"),
    ]
    assert r.health.state("cheap") == "open"  # threshold 1
    assert r.health.view("claude").ttft_seconds is not None


@pytest.mark.req("ROUTE-5")
async def test_a_request_error_is_reported_at_once_without_failover(make_router: Any) -> None:
    r = router(make_router)
    tried: list[str] = []

    async def call(candidate: Candidate) -> str:
        tried.append(candidate.provider)
        raise status(candidate.provider, 400)

    with pytest.raises(BadRequest) as caught:
        await call_with_failover(r.decide("acme/chat-1"), call, r.health, max_attempts=3)
    assert tried == ["cheap"]
    assert caught.value.message == "cheap answered HTTP 400"
    assert r.health.state("cheap") == "closed"  # the provider was fine


@pytest.mark.parametrize(
    ("failures", "error", "status_code"),
    [
        (["timeout", "timeout"], UpstreamTimeout, 504),
        ([503, 429], UpstreamUnavailable, 503),
        ([500, "timeout"], UpstreamError, 502),
        (["network", 502], UpstreamError, 502),
    ],
)
@pytest.mark.req("ROUTE-5")
async def test_when_every_candidate_fails_the_error_says_what_happened(
    make_router: Any, failures: list[object], error: type[UpstreamError], status_code: int
) -> None:
    r = router(make_router)
    decision = r.decide("acme/chat-1")
    plan = dict(zip(["cheap", "mid"], failures, strict=True))

    async def call(candidate: Candidate) -> str:
        kind = plan[candidate.provider]
        if isinstance(kind, int):
            raise status(candidate.provider, kind)
        raise UpstreamFailure(candidate.provider, kind, f"{candidate.provider} failed: {kind}")

    with pytest.raises(error) as caught:
        await call_with_failover(decision, call, r.health, max_attempts=2)
    assert type(caught.value) is error and caught.value.status == status_code
    assert caught.value.message.startswith("every provider failed for acme/chat-1: cheap")
    assert "mid" in caught.value.message
    assert "sk-" not in caught.value.message


@pytest.mark.req("ROUTE-5")
async def test_no_candidates_at_all(make_router: Any) -> None:
    r = router(make_router)

    async def call(candidate: Candidate) -> str:
        raise AssertionError("nothing may be called")

    only_keyless = parse_chat_request(
        {
            "model": "acme/chat-1",
            "provider": {"only": ["nokey"]},
            "messages": [{"role": "user", "content": "x"}],
        }
    )
    with pytest.raises(BadRequest) as caught:
        await call_with_failover(
            r.decide("acme/chat-1", only_keyless), call, r.health, max_attempts=3
        )
    assert caught.value.param == "provider"
    r.health.failure("claude")  # threshold 1: open
    with pytest.raises(UpstreamUnavailable) as unavailable:
        await call_with_failover(r.decide("acme/solo"), call, r.health, max_attempts=3)
    assert "claude: circuit breaker open" in unavailable.value.message
