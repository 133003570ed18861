from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.chat import MemorySpendGuard
from gateway.core import TokenCounts, cost_micro_usd
from gateway.errors import QuoteInvalid
from gateway.openai_wire import ChatRequest, parse_chat_request
from gateway.quotes import MemoryQuoteStore


def chat(prompt: str = "What is the capital of France?", **extra: Any) -> ChatRequest:
    return parse_chat_request(
        {"model": "acme/chat-1", "messages": [{"role": "user", "content": prompt}], **extra}
    )


@pytest.mark.req("QUOTE-3")
async def test_quoted_prices_hold_after_the_catalog_changes(kit: Any) -> None:
    store = MemoryQuoteStore()
    before, _, client = kit.service(kit.Script(), quote_store=store)
    async with client:
        quote = await before.quote(kit.Caller(), chat(max_tokens=100))
    assert quote.provider == "cheap" and quote.prices == kit.CHEAP
    # The catalog reloads with every price doubled; the quote still binds the old ones.
    script = kit.Script().on("cheap", kit.completion(prompt=quote.prompt_tokens, completion=80))
    after, spend, client = kit.service(script, scale=2, quote_store=store)
    async with client:
        body = await after.complete(
            kit.Caller(), chat(max_tokens=100), request_id="r", quote_id=quote.id
        )
    charged = cost_micro_usd(kit.CHEAP, TokenCounts(prompt=quote.prompt_tokens, completion=80))
    assert body["usage"]["cost_micro_usd"] == charged == spend.spent
    assert script.body()["max_tokens"] == 100
    assert spend.records[-1].quote_id == quote.id


@pytest.mark.req("QUOTE-2")
async def test_a_quote_is_single_use_and_bound_to_its_model(kit: Any) -> None:
    script = kit.Script().on("cheap", kit.completion())
    svc, spend, client = kit.service(script)
    async with client:
        quote = await svc.quote(kit.Caller(), chat(max_tokens=10))
        await svc.complete(kit.Caller(), chat(max_tokens=10), request_id="a", quote_id=quote.id)
        with pytest.raises(QuoteInvalid) as reused:
            await svc.complete(kit.Caller(), chat(max_tokens=10), request_id="b", quote_id=quote.id)
        other = await svc.quote(kit.Caller(), chat(max_tokens=10))
        with pytest.raises(QuoteInvalid) as wrong_model:
            await svc.complete(
                kit.Caller(),
                parse_chat_request(
                    {"model": "acme/other", "messages": [{"role": "user", "content": "x"}]}
                ),
                request_id="c",
                quote_id=other.id,
            )
        stranger = kit.Caller(identity="solana:test:mallory")
        with pytest.raises(QuoteInvalid) as stolen:
            await svc.complete(stranger, chat(max_tokens=10), request_id="d", quote_id=other.id)
    assert "already used" in reused.value.message
    assert "is for acme/chat-1, not acme/other" in wrong_model.value.message
    assert "another identity" in stolen.value.message
    assert len(script.requests) == 1 and spend.held == 0


@pytest.mark.req("QUOTE-3")
async def test_a_longer_prompt_than_quoted_gets_a_smaller_output_limit(kit: Any) -> None:
    script = kit.Script().on("cheap", kit.completion(prompt=5, completion=1))
    svc, _, client = kit.service(script)
    async with client:
        quote = await svc.quote(kit.Caller(), chat("hi", max_tokens=50))
        longer = chat("hi " * 40, max_tokens=50)
        await svc.complete(kit.Caller(), longer, request_id="r", quote_id=quote.id)
        assert script.body()["max_tokens"] < 50
        quote = await svc.quote(kit.Caller(), chat("hi", max_tokens=50))
        with pytest.raises(QuoteInvalid) as too_long:
            await svc.complete(kit.Caller(), chat("hi " * 2000), request_id="r2", quote_id=quote.id)
    assert too_long.value.param == "messages"


words = st.lists(
    st.sampled_from(["alpha", "beta", "gamma", "δέλτα", "数据", "🙂", "\n"]),
    min_size=1,
    max_size=60,
).map(" ".join)


@pytest.mark.req("QUOTE-3")
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    prompt=words,
    max_tokens=st.none() | st.integers(1, 4000),
    headroom=st.integers(2_000, 50_000_000),
    produced=st.integers(0, 12_000),
    reported_prompt_extra=st.integers(0, 50),
    stream=st.booleans(),
)
async def test_the_charged_cost_never_exceeds_the_quoted_maximum(
    kit: Any,
    prompt: str,
    max_tokens: int | None,
    headroom: int,
    produced: int,
    reported_prompt_extra: int,
    stream: bool,
) -> None:
    extra = {} if max_tokens is None else {"max_tokens": max_tokens}
    store = MemoryQuoteStore()
    quoting, _, client = kit.service(
        kit.Script(), quote_store=store, spend=MemorySpendGuard(budget=headroom)
    )
    async with client:
        quote = await quoting.quote(kit.Caller(), chat(prompt, **extra))
    # An upstream that may ignore the limit and count the prompt its own way.
    reported = quote.prompt_tokens + reported_prompt_extra
    pieces = [" tok"] * min(produced, 400)
    answer = (
        kit.chunks(pieces, usage=(reported, produced))
        if stream
        else kit.completion(prompt=reported, completion=produced)
    )
    script = kit.Script().on(quote.provider, answer)
    svc, spend, client = kit.service(script, scale=3, quote_store=store)
    async with client:
        request = chat(prompt, stream=stream, **extra)
        if stream:
            chunks = await svc.stream(kit.Caller(), request, request_id="r", quote_id=quote.id)
            try:
                async for _ in chunks:
                    pass
            finally:
                await chunks.aclose()
        else:
            await svc.complete(kit.Caller(), request, request_id="r", quote_id=quote.id)
    record = spend.records[-1]
    assert 0 <= spend.spent == record.cost_micro_usd <= quote.max_cost_micro_usd
    assert script.body()["max_tokens"] <= quote.max_output_tokens
    # Charged at the quote's prices, not the (tripled) catalog's.
    assert record.cost_micro_usd <= cost_micro_usd(quote.prices, record.tokens)
