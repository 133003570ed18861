from __future__ import annotations

from typing import Any

import httpx
import openai.types.chat as oa
import pytest
import trio
import trio.testing

from gateway.chat import MemorySpendGuard
from gateway.errors import BadRequest, Forbidden, SpendingError, UpstreamError, UpstreamTimeout
from gateway.openai_wire import ChatRequest, parse_chat_request
from gateway.quotes import largest_output, worst_case_cost
from gateway.tokenizer import count_prompt_tokens, count_text_tokens


def chat(**extra: Any) -> ChatRequest:
    return parse_chat_request(
        {
            "model": "acme:chat-1",
            "messages": [{"role": "user", "content": "Say hello."}],
            **extra,
        }
    )


@pytest.mark.req("CHAT-5")
async def test_a_completion_reports_usage_and_the_charged_cost(kit: Any) -> None:
    script = kit.Script().on("cheap", kit.completion(prompt=1000, completion=250))
    svc, spend, client = kit.service(script)
    async with client:
        body = await svc.complete(kit.Caller(), chat(max_tokens=300), request_id="req_1")
    oa.ChatCompletion.model_validate(body)
    # 1000 × 1 USD/M + 250 × 4 USD/M = 1000 + 1000 µUSD
    assert body["usage"]["cost_micro_usd"] == 2000
    assert body["usage"]["prompt_tokens"] == 1000 and body["usage"]["completion_tokens"] == 250
    assert body["model"] == "acme/chat-1"
    assert body["provider"] == "cheap" and body["simulated"] is False
    assert script.body()["model"] == "cheap-1" and script.body()["max_tokens"] == 300
    assert spend.spent == 2000 and spend.held == 0
    record = spend.records[-1]
    assert (record.outcome, record.provider, record.cost_micro_usd) == ("ok", "cheap", 2000)
    assert record.identity == "solana:test:alice" and record.request_id == "req_1"
    assert record.latency_ms is not None and record.ttft_ms is not None


@pytest.mark.req("ROUTE-5")
async def test_failover_to_the_next_provider_before_anything_is_returned(kit: Any) -> None:
    script = (
        kit.Script()
        .on("cheap", kit.status(503))
        .on("claude", kit.status(429))
        .on("dear", kit.completion())
    )
    svc, spend, client = kit.service(script)
    async with client:
        body = await svc.complete(kit.Caller(), chat(max_tokens=20), request_id="r")
    assert script.providers() == ["cheap", "claude", "dear"]
    assert body["provider"] == "dear"
    assert body["usage"]["cost_micro_usd"] == 9 * 3 + 3 * 12  # at dear's prices
    assert spend.records[-1].attempts == ("cheap:status", "claude:status", "dear:ok")


@pytest.mark.req("ROUTE-5")
async def test_a_request_error_is_not_retried_and_nothing_is_charged(kit: Any) -> None:
    script = kit.Script().on("cheap", kit.status(400, "temperature is wrong"))
    svc, spend, client = kit.service(script)
    async with client:
        with pytest.raises(BadRequest) as caught:
            await svc.complete(kit.Caller(), chat(max_tokens=20), request_id="r")
    assert "temperature is wrong" in caught.value.message
    assert script.providers() == ["cheap"]
    assert spend.spent == 0 and spend.held == 0 and not spend.open_holds


async def test_a_forbidden_model_is_refused_before_anything_is_reserved(kit: Any) -> None:
    script = kit.Script().on("cheap", kit.completion())
    svc, spend, client = kit.service(script)
    async with client:
        with pytest.raises(Forbidden):
            await svc.complete(
                kit.Caller(allowed=frozenset({"other/x"})), chat(max_tokens=5), request_id="r"
            )
    assert script.requests == [] and spend.records == [] and not spend.open_holds


@pytest.mark.req("CHAT-4")
async def test_a_call_the_budget_cannot_cover_is_refused_and_not_forwarded(
    kit: Any,
) -> None:
    script = kit.Script().on("cheap", kit.completion())
    svc, spend, client = kit.service(script, spend=MemorySpendGuard(budget=100))
    async with client:
        with pytest.raises(SpendingError):
            await svc.complete(kit.Caller(), chat(max_tokens=100_000), request_id="r")
    assert script.requests == [] and spend.spent == 0


@pytest.mark.req("CHAT-4")
async def test_without_max_tokens_the_limit_is_the_largest_output_the_budget_covers(
    kit: Any,
) -> None:
    budget = 5_000
    script = kit.Script().on("cheap", kit.completion(prompt=10, completion=900))
    svc, _, client = kit.service(script, spend=MemorySpendGuard(budget=budget))
    async with client:
        body = await svc.complete(kit.Caller(), chat(), request_id="r")
    prompt = count_prompt_tokens([{"role": "user", "content": "Say hello."}], "openai")
    limit = script.body()["max_tokens"]
    assert limit == largest_output(kit.CHEAP, prompt, budget)
    assert (
        worst_case_cost(kit.CHEAP, prompt, limit)
        <= budget
        < worst_case_cost(kit.CHEAP, prompt, limit + 1)
    )
    assert body["usage"]["cost_micro_usd"] <= budget


@pytest.mark.req("CHAT-4")
async def test_a_fallback_too_dear_for_the_budget_is_dropped_not_the_call(
    kit: Any,
) -> None:
    script = kit.Script().on("cheap", kit.status(500))
    # 1000 output tokens cost 4000 µUSD on cheap but 12000 on dear and 8000 on claude.
    svc, spend, client = kit.service(script, spend=MemorySpendGuard(budget=6_000))
    async with client:
        with pytest.raises(UpstreamError) as caught:
            await svc.complete(kit.Caller(), chat(max_tokens=1000), request_id="r")
    assert script.providers() == ["cheap"]
    assert "cheap answered HTTP 500" in caught.value.message
    assert spend.held == 0 and spend.spent == 0


@pytest.mark.req("CHAT-5")
async def test_an_upstream_that_exceeds_the_limit_is_charged_no_more_than_the_hold(
    kit: Any,
) -> None:
    script = kit.Script().on("cheap", kit.completion(prompt=5, completion=50_000))
    svc, spend, client = kit.service(script)
    async with client:
        body = await svc.complete(kit.Caller(), chat(max_tokens=10), request_id="r")
    assert body["usage"]["completion_tokens"] == 50_000  # what the upstream reported
    # ... but output past the limit sent upstream is not billed: 5 × 1 + 10 × 4 µUSD.
    assert body["usage"]["cost_micro_usd"] == spend.spent == 45
    assert spend.records[-1].tokens.completion == 50_000


@pytest.mark.req("CHAT-5")
async def test_missing_upstream_usage_is_counted_by_the_gateway(kit: Any) -> None:
    def no_usage(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "id": "x",
                "object": "chat.completion",
                "created": 1,
                "model": "m",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "Hi there"},
                        "finish_reason": "stop",
                    }
                ],
            },
        )

    script = kit.Script().on("cheap", no_usage)
    svc, spend, client = kit.service(script)
    async with client:
        body = await svc.complete(kit.Caller(), chat(max_tokens=10), request_id="r")
    assert body["usage"]["completion_tokens"] == count_text_tokens("Hi there", "openai")
    assert spend.records[-1].estimated is True


@pytest.mark.req("ROUTE-5")
async def test_a_timeout_everywhere_is_a_504(
    kit: Any, autojump_clock: trio.testing.MockClock
) -> None:
    script = kit.Script().on("cheap", kit.hang()).on("dear", kit.hang()).on("claude", kit.hang())
    svc, spend, client = kit.service(
        script, providers={p: {"timeout_seconds": 5} for p in ("cheap", "dear", "claude")}
    )
    async with client:
        with pytest.raises(UpstreamTimeout) as caught:
            await svc.complete(kit.Caller(), chat(max_tokens=10), request_id="r")
    assert caught.value.status == 504
    assert "cheap did not answer within 5s" in caught.value.message
    assert script.providers() == ["cheap", "claude", "dear"]
    assert spend.held == 0
    assert spend.records[-1].outcome == "failed"


async def test_cancelling_a_call_releases_its_hold(
    kit: Any, autojump_clock: trio.testing.MockClock
) -> None:
    script = kit.Script().on("cheap", kit.hang())
    svc, spend, client = kit.service(script)
    async with client:
        with trio.move_on_after(1):
            await svc.complete(kit.Caller(), chat(max_tokens=10), request_id="r")
    assert spend.held == 0 and not spend.open_holds and spend.spent == 0


@pytest.mark.req("ROUTE-6")
async def test_route_explain_uses_the_request_preferences(kit: Any) -> None:
    svc, _, client = kit.service(kit.Script())
    async with client:
        decision = svc.route_explain("acme/chat-1", chat(provider={"order": ["claude"]}))
    assert decision.to_dict()["chosen"] == "claude"
    assert svc.provider_status("cheap").routable
