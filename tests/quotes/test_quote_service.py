from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.chat import build_router
from gateway.core import Catalog, ModelEntry, Offer, Prices, ProviderEntry, usd
from gateway.errors import QuoteInvalid, SpendingError
from gateway.openai_wire import parse_chat_request
from gateway.quotes import (
    MemoryQuoteStore,
    QuoteService,
    estimate_prompt_tokens,
    largest_output,
    worst_case_cost,
)
from gateway.settings import settings_from_mapping
from gateway.tokenizer import count_prompt_tokens

PRICES = Prices(input=usd(3), output=usd(15), cache_read=usd(0.3), cache_write=usd(3.75))
CATALOG = Catalog.build(
    [
        ModelEntry(
            "acme/chat-1", "Acme", (Offer("claude", "claude-1", PRICES),), max_output_tokens=8000
        )
    ],
    [ProviderEntry("claude", "Claude", "anthropic", "https://claude.test/v1", "CLAUDE_API_KEY")],
)
MESSAGES = [
    {"role": "system", "content": "Be exact."},
    {"role": "user", "content": "How many moons has Mars?"},
]


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def quotes(tmp_path: Path, clock: Clock) -> QuoteService:
    settings = settings_from_mapping(
        {"simulator": {"mode": "off"}}, tmp_path, environ={"CLAUDE_API_KEY": "sk"}
    )
    return QuoteService(build_router(settings, CATALOG), MemoryQuoteStore(), 300, clock)


def request(**extra: Any) -> Any:
    return parse_chat_request({"model": "acme:chat-1", "messages": MESSAGES, **extra})


@pytest.mark.req("QUOTE-1")
async def test_a_quote_names_provider_prices_tokens_and_the_maximum(tmp_path: Path) -> None:
    clock = Clock()
    quote = await quotes(tmp_path, clock).create("alice", request(max_tokens=500))
    prompt = count_prompt_tokens(MESSAGES, "anthropic")
    assert quote.prompt_tokens == prompt
    assert quote.max_output_tokens == 500
    # The dearest input price that can apply (a cache write) for the prompt, output at 15/M.
    assert quote.max_cost_micro_usd == -(-(prompt * 3_750_000 + 500 * 15_000_000) // 1_000_000)
    data = quote.to_dict()
    assert data["provider"] == "claude" and data["model"] == "acme/chat-1"
    assert data["prices_micro_usd_per_mtok"] == PRICES.to_dict()
    assert data["input_tokens"] == prompt
    assert data["expires_at"] == int(clock.now) + 300
    assert data["id"].startswith("q_")
    assert data["estimated_cost_micro_usd"] <= data["max_cost_micro_usd"]
    assert "estimate" in data["tokenizer"]


@pytest.mark.req("QUOTE-1")
async def test_without_max_tokens_the_limit_fits_the_headroom_and_the_model(
    tmp_path: Path,
) -> None:
    service = quotes(tmp_path, Clock())
    tight = await service.create("alice", request(), headroom=10_000)
    assert tight.max_output_tokens == largest_output(PRICES, tight.prompt_tokens, 10_000)
    assert tight.max_cost_micro_usd <= 10_000
    roomy = await service.create("alice", request(), headroom=10**12)
    assert roomy.max_output_tokens == 8000  # the model's maximum
    unlimited = await service.create("alice", request())
    assert unlimited.max_output_tokens == 8000
    with pytest.raises(SpendingError):
        await service.create("alice", request(), headroom=1)


@pytest.mark.req("QUOTE-2")
async def test_a_quote_is_redeemed_once_by_its_own_identity_before_it_expires(
    tmp_path: Path,
) -> None:
    clock = Clock()
    service = quotes(tmp_path, clock)
    quote = await service.create("alice", request(max_tokens=10))
    with pytest.raises(QuoteInvalid) as other:
        await service.redeem(quote.id, "mallory")
    assert other.value.message == f"quote {quote.id} was issued to another identity"
    redeemed = await service.redeem(quote.id, "alice")  # mallory's try did not use it up
    assert redeemed == quote
    with pytest.raises(QuoteInvalid) as again:
        await service.redeem(quote.id, "alice")
    assert again.value.message == f"quote {quote.id} was already used"
    with pytest.raises(QuoteInvalid) as unknown:
        await service.redeem("q_nope", "alice")
    assert unknown.value.message == "quote q_nope is unknown"
    assert unknown.value.status == 400 and unknown.value.code == "quote_unknown"
    late = await service.create("alice", request(max_tokens=10))
    clock.now += 300
    with pytest.raises(QuoteInvalid) as expired:
        await service.redeem(late.id, "alice")
    assert expired.value.message == f"quote {late.id} has expired"


@pytest.mark.req("CHAT-4")
def test_worst_case_and_largest_output_agree() -> None:
    for budget in (0, 1, 999, 10_000, 123_456_789):
        for prompt in (0, 7, 5000):
            n = largest_output(PRICES, prompt, budget)
            if n:
                assert worst_case_cost(PRICES, prompt, n) <= budget
            assert worst_case_cost(PRICES, prompt, n + 1) > budget


@pytest.mark.req("CHAT-4")
def test_the_cheap_prompt_estimate_errs_high_on_english() -> None:
    text = "The quick brown fox jumps over the lazy dog. " * 40
    messages = [{"role": "user", "content": text}]
    assert estimate_prompt_tokens(messages) >= count_prompt_tokens(messages, "anthropic")
