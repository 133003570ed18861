"""The shared token counter: exact cl100k_base, documented estimates and prompt overheads."""

from __future__ import annotations

import math
import socket
import subprocess
import sys
from typing import Any

import pytest

import gateway.tokenizer
from gateway.tokenizer import (
    IMAGE_TOKENS,
    TOKENIZER_NAMES,
    count_prompt_tokens,
    count_text_tokens,
    family_scale,
)
from gateway.tokenizer._encoding import cl100k_base

# OpenAI cookbook, "How to count tokens with tiktoken": 129 prompt tokens for gpt-4/cl100k_base,
# both by the cookbook's function and by the API.
COOKBOOK_MESSAGES = [
    {
        "role": "system",
        "content": "You are a helpful, pattern-following assistant that translates corporate "
        "jargon into plain English.",
    },
    {
        "role": "system",
        "name": "example_user",
        "content": "New synergies will help drive top-line growth.",
    },
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Things working well together will increase revenue.",
    },
    {
        "role": "system",
        "name": "example_user",
        "content": "Let's circle back when we have more bandwidth to touch base on opportunities "
        "for increased leverage.",
    },
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Let's talk later when we're less busy about how to do better.",
    },
    {
        "role": "user",
        "content": "This late pivot means we don't have time to boil the ocean for the client "
        "deliverable.",
    },
]


@pytest.mark.req("TOK-1")
def test_openai_counts_are_cl100k_base() -> None:
    # the cookbook's own example: "tiktoken is great!" -> [83, 1609, 5963, 374, 2294, 0]
    assert cl100k_base().encode_ordinary("tiktoken is great!") == [83, 1609, 5963, 374, 2294, 0]
    assert count_text_tokens("tiktoken is great!", "openai") == 6
    assert count_text_tokens("", "openai") == 0
    # special-token text is plain text to a counter, never an error
    assert count_text_tokens("<|endoftext|>", "openai") > 1


@pytest.mark.req("TOK-2")
def test_prompt_overheads_match_the_cookbook() -> None:
    assert count_prompt_tokens(COOKBOOK_MESSAGES, "openai") == 129


@pytest.mark.req("TOK-1")
@pytest.mark.parametrize(("family", "factor"), [("anthropic", 1.2), ("google", 1.1)])
def test_estimates_scale_cl100k_and_round_up(family: str, factor: float) -> None:
    for text in ("a", "tiktoken is great!", "word " * 37):
        exact = count_text_tokens(text, "openai")
        assert count_text_tokens(text, family) == math.ceil(round(exact * factor, 6))
    exact = count_prompt_tokens(COOKBOOK_MESSAGES, "openai")
    assert count_prompt_tokens(COOKBOOK_MESSAGES, family) == math.ceil(round(exact * factor, 6))
    assert set(TOKENIZER_NAMES) == {"openai", "anthropic", "google"}
    assert str(factor) in TOKENIZER_NAMES[family]


@pytest.mark.req("TOK-2")
def test_images_count_a_fixed_amount() -> None:
    text_only = [{"role": "user", "content": [{"type": "text", "text": "What is this?"}]}]
    small = {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
    large = {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 40_000}}
    with_small = [{"role": "user", "content": [*text_only[0]["content"], small]}]
    with_both = [{"role": "user", "content": [*text_only[0]["content"], small, large]}]
    base = count_prompt_tokens(text_only, "openai")
    assert count_prompt_tokens(with_small, "openai") == base + IMAGE_TOKENS
    assert count_prompt_tokens(with_both, "openai") == base + 2 * IMAGE_TOKENS


@pytest.mark.req("TOK-2")
def test_tool_calls_and_tools_count_in_canonical_form() -> None:
    def call(arguments: Any) -> list[dict[str, Any]]:
        function = {"name": "lookup", "arguments": arguments}
        return [
            {
                "role": "assistant",
                "tool_calls": [{"id": "x", "type": "function", "function": function}],
            }
        ]

    spaced = count_prompt_tokens(call('{ "b": 1,  "a": [2, 3] }'), "openai")
    assert spaced == count_prompt_tokens(call('{"a":[2,3],"b":1}'), "openai")
    assert spaced > count_prompt_tokens(call("{}"), "openai")
    tool = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
    messages = [{"role": "user", "content": "Hi"}]
    with_tool = count_prompt_tokens(messages, "openai", [tool])
    assert (
        with_tool - count_prompt_tokens(messages, "openai")
        == count_prompt_tokens(messages, "openai", [tool, tool]) - with_tool
        > 8
    )


@pytest.mark.req("TOK-1")
def test_unknown_family_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown tokenizer family 'llama'"):
        count_text_tokens("hi", "llama")
    with pytest.raises(ValueError, match="unknown tokenizer family 'llama'"):
        family_scale("llama")


@pytest.mark.req("TOK-1")
def test_a_familys_scale_is_known_without_the_vocabulary() -> None:
    cl100k_base.cache_clear()
    scales = {family: family_scale(family) for family in TOKENIZER_NAMES}
    assert cl100k_base.cache_info().currsize == 0
    assert scales["openai"] == 1 < scales["google"] < scales["anthropic"]
    # A stream scales its running cl100k_base count with it: the same as counting the text.
    for text in ("Hello, world!", "tiktoken is great! " * 37, "naïve café 東京 🙂 " * 11):
        base = count_text_tokens(text, "openai")
        for family, scale in scales.items():
            assert count_text_tokens(text, family) == math.ceil(base * scale)


@pytest.mark.req("TOK-3")
def test_loading_never_touches_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the tokenizer tried the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    cl100k_base.cache_clear()
    assert count_text_tokens("hello world", "openai") == 2


@pytest.mark.req("TOK-3")
def test_loading_is_lazy_and_happens_once() -> None:
    probe = (
        "import gateway.tokenizer, gateway.tokenizer._encoding as e;"
        "print(e.cl100k_base.cache_info().currsize)"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "0"
    count_prompt_tokens(COOKBOOK_MESSAGES, "openai")
    from gateway.tokenizer import _encoding

    before = _encoding.cl100k_base.cache_info()
    for _ in range(200):
        count_prompt_tokens(COOKBOOK_MESSAGES, "openai")
    after = _encoding.cl100k_base.cache_info()
    # Counting never loads the tables again (the speed is the benchmark's, not a test's).
    assert after.misses == before.misses and after.currsize == 1


def test_public_api() -> None:
    for name in gateway.tokenizer.__all__:
        assert getattr(gateway.tokenizer, name) is not None
