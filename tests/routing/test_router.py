from __future__ import annotations

from typing import Any

import pytest

from gateway.errors import NotFound
from gateway.openai_wire import parse_chat_request
from gateway.routing import Decision


def request(**extra: Any) -> Any:
    return parse_chat_request(
        {"model": "acme/chat-1", "messages": [{"role": "user", "content": "hi"}], **extra}
    )


def providers(decision: Decision) -> list[str]:
    return [c.provider for c in decision.candidates]


@pytest.mark.req("ROUTE-1")
@pytest.mark.req("ROUTE-3")
async def test_the_cheapest_healthy_provider_is_chosen_and_keyless_ones_are_left_out(
    make_router: Any,
) -> None:
    router = make_router(simulator={"mode": "off"})
    decision = router.decide("acme:chat-1", request(max_tokens=100), prompt_tokens=1000)
    assert providers(decision) == ["cheap", "mid", "claude", "gem", "dear"]
    chosen = decision.candidates[0]
    # 1000 prompt tokens at 1 USD/M + 100 output tokens at 4 USD/M = 1000 + 400 µUSD
    assert chosen.expected_cost_micro_usd == 1400
    assert [(e.provider, e.code) for e in decision.excluded] == [("nokey", "no_credentials")]
    assert decision.excluded[0].reason == "no credentials (set NOKEY_API_KEY)"


@pytest.mark.req("ROUTE-3")
async def test_a_failing_provider_ranks_after_a_slightly_dearer_healthy_one(
    make_router: Any,
) -> None:
    router = make_router(simulator={"mode": "off"})
    router.health.failure("cheap")
    decision = router.decide("acme/chat-1", request(max_tokens=100), prompt_tokens=1000)
    assert providers(decision)[:2] == ["mid", "cheap"]
    assert decision.candidates[1].health.error_rate > 0


@pytest.mark.req("ROUTE-3")
async def test_observed_latency_counts_in_the_default_ranking(make_router: Any) -> None:
    router = make_router(simulator={"mode": "off"})
    router.health.success("cheap", ttft=8.0)
    router.health.success("mid", ttft=0.2)
    decision = router.decide("acme/chat-1", request(max_tokens=100), prompt_tokens=1000)
    assert providers(decision)[:2] == ["mid", "cheap"]
    assert decision.to_dict()["candidates"][1]["health"]["ttft_ms"] == 8000.0


@pytest.mark.parametrize(
    ("sort", "first"), [("price", "cheap"), ("latency", "gem"), ("throughput", "claude")]
)
@pytest.mark.req("ROUTE-2")
async def test_sort_orders_by_what_the_request_asks(
    make_router: Any, sort: str, first: str
) -> None:
    router = make_router(simulator={"mode": "off"})
    router.health.success("cheap", ttft=3.0)
    router.health.success("gem", ttft=0.1)
    router.health.throughput("claude", 500, 1.0)
    router.health.throughput("cheap", 50, 1.0)
    decision = router.decide("acme/chat-1", request(provider={"sort": sort}))
    assert decision.candidates[0].provider == first
    assert decision.policy.sort == sort


@pytest.mark.req("ROUTE-2")
async def test_order_pins_providers_and_fallbacks_can_be_disabled(make_router: Any) -> None:
    router = make_router(simulator={"mode": "off"})
    pinned = router.decide("acme/chat-1", request(provider={"order": ["dear", "gem"]}))
    assert providers(pinned) == ["dear", "gem", "cheap", "mid", "claude"]
    strict = router.decide(
        "acme/chat-1", request(provider={"order": ["dear", "gem"], "allow_fallbacks": False})
    )
    assert providers(strict) == ["dear", "gem"]
    assert {e.code for e in strict.excluded} >= {"fallbacks_disabled"}
    alone = router.decide("acme/chat-1", request(provider={"allow_fallbacks": False}))
    assert providers(alone) == ["cheap"]


@pytest.mark.req("ROUTE-2")
async def test_only_ignore_and_max_price_filter_with_reasons(make_router: Any) -> None:
    router = make_router(simulator={"mode": "off"})
    only = router.decide("acme/chat-1", request(provider={"only": ["gem", "dear"]}))
    assert providers(only) == ["gem", "dear"]
    ignored = router.decide("acme/chat-1", request(provider={"ignore": ["cheap"]}))
    assert "cheap" not in providers(ignored)
    assert ("cheap", "ignored") in [(e.provider, e.code) for e in ignored.excluded]
    capped = router.decide(
        "acme/chat-1", request(provider={"max_price": {"prompt": 2.0, "completion": 6}})
    )
    assert providers(capped) == ["cheap", "mid"]
    reasons = {e.provider: e.reason for e in capped.excluded}
    assert reasons["claude"] == "completion price above max_price"
    assert reasons["dear"] == "prompt price above max_price"


@pytest.mark.req("ROUTE-1")
async def test_settings_policy_and_aliases_apply_and_the_request_overrides(
    make_router: Any,
) -> None:
    routing = {
        "aliases": {"house": "acme/chat-1"},
        "models": {"acme:chat-1": {"ignore": ["cheap"], "sort": "price"}},
    }
    router = make_router(simulator={"mode": "off"}, routing=routing)
    decision = router.decide("house")
    assert decision.model == "acme/chat-1"
    assert providers(decision)[0] == "mid"
    overridden = router.decide("house", request(provider={"ignore": []}))
    assert providers(overridden)[0] == "cheap"
    assert overridden.policy.sort == "price"  # not given by the request: the model's policy


@pytest.mark.req("ROUTE-1")
async def test_unknown_model_is_not_found(make_router: Any) -> None:
    router = make_router()
    with pytest.raises(NotFound) as caught:
        router.decide("acme/nothing")
    assert caught.value.param == "model"
    assert "acme/nothing" in caught.value.message


@pytest.mark.req("ROUTE-3")
async def test_simulated_providers_rank_after_real_ones(make_router: Any) -> None:
    router = make_router(env={"DEAR_API_KEY": "sk"}, simulator_url="http://sim.test")
    decision = router.decide("acme/chat-1", request(max_tokens=10))
    assert providers(decision)[0] == "dear"
    labels = [c.endpoint.label for c in decision.candidates]
    assert labels[1] == "nokey (simulated)"
    explained = decision.to_dict()
    assert explained["chosen"] == "dear" and explained["simulated"] is False
    assert explained["candidates"][1]["simulated"] is True
    assert "simulated provider (ranked after real ones)" in explained["candidates"][1]["reasons"]


@pytest.mark.req("ROUTE-2")
async def test_n_above_one_needs_the_openai_protocol(make_router: Any) -> None:
    router = make_router(simulator={"mode": "off"})
    decision = router.decide("acme/chat-1", request(n=2))
    assert {c.endpoint.protocol for c in decision.candidates} == {"openai"}
    assert {e.provider for e in decision.excluded if e.code == "unsupported"} == {"claude", "gem"}


@pytest.mark.req("ROUTE-6")
async def test_the_decision_explains_itself_as_json(make_router: Any) -> None:
    router = make_router(simulator={"mode": "off"})
    data = router.decide("acme/chat-1", request(max_tokens=50), prompt_tokens=20).to_dict()
    assert data["object"] == "route" and data["chosen"] == "cheap"
    first = data["candidates"][0]
    assert first["prices_micro_usd_per_mtok"] == {"input": 1_000_000, "output": 4_000_000}
    assert first["expected_cost_micro_usd"] == 220
    assert "lowest expected cost" in first["reasons"]
    assert first["health"]["breaker"] == "closed"
    assert data["excluded"] == [
        {
            "provider": "nokey",
            "code": "no_credentials",
            "reason": "no credentials (set NOKEY_API_KEY)",
        }
    ]
