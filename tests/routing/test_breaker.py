from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

from gateway.routing import HealthBoard


@pytest.mark.req("ROUTE-4")
async def test_breaker_opens_after_the_threshold_and_recovers_after_cooldown(
    autojump_clock: trio.testing.MockClock,
) -> None:
    board = HealthBoard(failure_threshold=3, cooldown_seconds=30.0)
    board.failure("p")
    board.failure("p")
    assert board.state("p") == "closed"
    board.failure("p")
    assert board.state("p") == "open"
    assert board.view("p").retry_in_seconds == 30.0
    await trio.sleep(29.0)
    assert board.state("p") == "open"
    await trio.sleep(1.0)
    assert board.state("p") == "half_open"
    board.success("p")
    assert board.state("p") == "closed"
    assert board.view("p").consecutive_failures == 0


@pytest.mark.req("ROUTE-4")
async def test_a_failure_while_half_open_opens_it_again_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    board = HealthBoard(failure_threshold=2, cooldown_seconds=10.0)
    board.failure("p")
    board.failure("p")
    await trio.sleep(10.0)
    assert board.state("p") == "half_open"
    board.failure("p")
    assert board.state("p") == "open"
    await trio.sleep(9.0)
    assert board.state("p") == "open"


@pytest.mark.req("ROUTE-4")
async def test_an_open_provider_is_left_out_then_tried_on_probation(
    make_router: Any, autojump_clock: trio.testing.MockClock
) -> None:
    router = make_router(
        simulator={"mode": "off"},
        routing={"breaker": {"failure_threshold": 2, "cooldown_seconds": 5}},
    )
    router.health.failure("cheap")
    router.health.failure("cheap")
    decision = router.decide("acme/chat-1")
    assert "cheap" not in [c.provider for c in decision.candidates]
    excluded = {e.provider: e for e in decision.excluded}
    assert excluded["cheap"].code == "breaker_open"
    assert excluded["cheap"].reason == "circuit breaker open (retry in 5s)"
    await trio.sleep(5)
    decision = router.decide("acme/chat-1")
    providers = [c.provider for c in decision.candidates]
    # Half-open: tried again, but after the healthy ones.
    assert providers[-1] == "cheap"
    assert decision.candidates[-1].health.state == "half_open"
    router.health.success("cheap")
    decision = router.decide("acme/chat-1")
    # Closed again, but its recent error rate still costs it rank against healthy ones.
    assert [c.provider for c in decision.candidates] == ["mid", "claude", "cheap", "gem", "dear"]
    assert decision.candidates[2].health.state == "closed"
