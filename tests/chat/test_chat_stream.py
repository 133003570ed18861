from __future__ import annotations

from typing import Any

import openai.types.chat as oa
import pytest

from gateway.chat import ChatStream, MemorySpendGuard
from gateway.openai_wire import ChatRequest, parse_chat_request
from gateway.tokenizer import count_text_tokens
from gateway.tokenizer._encoding import cl100k_base


def chat(**extra: Any) -> ChatRequest:
    return parse_chat_request(
        {
            "model": "acme/chat-1",
            "messages": [{"role": "user", "content": "Tell me a story."}],
            "stream": True,
            **extra,
        }
    )


async def drain(stream: ChatStream) -> list[dict[str, Any]]:
    try:
        return [chunk async for chunk in stream]
    finally:
        await stream.aclose()


def text(chunks: list[dict[str, Any]]) -> str:
    return "".join(
        c["choices"][0]["delta"].get("content") or "" for c in chunks if c.get("choices")
    )


@pytest.mark.req("CHAT-6")
async def test_the_last_chunk_carries_usage_and_cost(kit: Any) -> None:
    script = kit.Script().on("cheap", kit.chunks(["Once", " upon", " a time"], usage=(100, 50)))
    svc, spend, client = kit.service(script)
    async with client:
        stream = await svc.stream(kit.Caller(), chat(max_tokens=64), request_id="r")
        chunks = await drain(stream)
    for chunk in chunks:
        oa.ChatCompletionChunk.model_validate(chunk)
    assert text(chunks) == "Once upon a time"
    last = chunks[-1]
    assert last["choices"][0]["finish_reason"] == "stop"
    # 100 × 1 + 50 × 4 µUSD
    assert last["usage"]["cost_micro_usd"] == 300 == spend.spent
    assert last["provider"] == "cheap" and last["model"] == "acme/chat-1"
    assert all("usage" not in c for c in chunks[:-1])
    assert script.body()["stream_options"] == {"include_usage": True}
    record = spend.records[-1]
    assert record.outcome == "ok" and not record.estimated and record.ttft_ms is not None


@pytest.mark.req("CHAT-6")
async def test_include_usage_gets_openais_separate_usage_chunk(kit: Any) -> None:
    script = kit.Script().on("cheap", kit.chunks(["Hi"], usage=(10, 1)))
    svc, _, client = kit.service(script)
    async with client:
        request = chat(max_tokens=8, stream_options={"include_usage": True})
        chunks = await drain(await svc.stream(kit.Caller(), request, request_id="r"))
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop" and "usage" not in chunks[-2]
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["cost_micro_usd"] == 14
    oa.ChatCompletionChunk.model_validate(chunks[-1])


@pytest.mark.req("ROUTE-5")
async def test_a_stream_fails_over_before_its_first_byte(kit: Any) -> None:
    script = (
        kit.Script()
        .on("cheap", kit.status(503))
        .on("claude", kit.status(500))
        .on("dear", kit.chunks(["ok"]))
    )
    svc, spend, client = kit.service(script)
    async with client:
        stream = await svc.stream(kit.Caller(), chat(max_tokens=8), request_id="r")
        assert stream.provider == "dear"
        chunks = await drain(stream)
    assert text(chunks) == "ok"
    assert script.providers() == ["cheap", "claude", "dear"]
    assert spend.records[-1].attempts == ("cheap:status", "claude:status", "dear:ok")


@pytest.mark.req("ROUTE-5")
@pytest.mark.req("CHAT-6")
async def test_after_the_first_byte_a_failure_ends_the_stream_and_is_not_retried(
    kit: Any,
) -> None:
    script = kit.Script().on("cheap", kit.chunks(["one", " two", " three"], fail_after=2))
    script.on("dear", kit.chunks(["never"]))
    svc, spend, client = kit.service(script)
    async with client:
        chunks = await drain(await svc.stream(kit.Caller(), chat(max_tokens=8), request_id="r"))
    assert script.providers() == ["cheap"]
    assert text(chunks) == "one two"
    last = chunks[-1]
    assert last["choices"][0]["finish_reason"] == "error"
    assert "model crashed" in last["error"]["message"]
    # Charged for what was delivered, counted by the gateway.
    delivered = count_text_tokens("one two", "openai")
    assert last["usage"]["completion_tokens"] == delivered
    record = spend.records[-1]
    assert record.outcome == "upstream_error" and record.estimated


@pytest.mark.req("CHAT-6")
async def test_a_stream_is_cut_off_before_it_passes_the_reservation(kit: Any) -> None:
    budget = 200
    words = [" word"] * 400  # an upstream that ignores the output limit
    script = kit.Script().on("cheap", kit.chunks(words, usage=None))
    svc, spend, client = kit.service(script, spend=MemorySpendGuard(budget=budget))
    async with client:
        chunks = await drain(await svc.stream(kit.Caller(), chat(), request_id="r"))
    limit = script.body()["max_tokens"]
    last = chunks[-1]
    assert last["choices"][0]["finish_reason"] == "length"
    assert last["error"]["code"] == "reservation_exhausted"
    delivered = count_text_tokens(text(chunks), "openai")
    assert 0 < delivered <= limit
    assert last["usage"]["completion_tokens"] == delivered
    assert spend.spent == last["usage"]["cost_micro_usd"] <= budget
    assert spend.records[-1].outcome == "length_cut"


@pytest.mark.req("CHAT-6")
async def test_a_stream_far_from_its_reservation_is_metered_without_the_vocabulary(
    kit: Any,
) -> None:
    # The vocabulary is loaded only when a stream's bytes could pass what is reserved (or the
    # upstream reports no usage); the family's scale alone comes without it.
    cl100k_base.cache_clear()
    script = kit.Script().on("cheap", kit.chunks(["Once", " upon", " a time"], usage=(9, 4)))
    svc, spend, client = kit.service(script)
    async with client:
        chunks = await drain(await svc.stream(kit.Caller(), chat(max_tokens=64), request_id="r"))
    assert cl100k_base.cache_info().currsize == 0
    assert chunks[-1]["usage"]["cost_micro_usd"] == 9 * 1 + 4 * 4 == spend.spent


@pytest.mark.req("CHAT-6")
async def test_closing_a_stream_early_charges_what_was_delivered(kit: Any) -> None:
    script = kit.Script().on("cheap", kit.chunks(["a", " b", " c", " d", " e"]))
    svc, spend, client = kit.service(script)
    async with client:
        stream = await svc.stream(kit.Caller(), chat(max_tokens=50), request_id="r")
        first = [await stream.__anext__() for _ in range(3)]
        await stream.aclose()
        await stream.aclose()  # idempotent
    assert text(first) == "a b"
    record = spend.records[-1]
    assert record.outcome == "cancelled"
    assert record.tokens.completion == count_text_tokens("a b", "openai")
    assert spend.held == 0 and spend.spent == record.cost_micro_usd > 0
