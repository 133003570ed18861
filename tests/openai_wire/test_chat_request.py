from __future__ import annotations

from typing import Any

import pytest

from gateway.errors import BadRequest
from gateway.openai_wire import ImagePart, ToolMessage, parse_chat_request

BODY = {
    "model": "moonshotai:kimi-k2.5",
    "messages": [
        {"role": "system", "content": "You are helpful."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {
                    "type": "image_url",
                    "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"},
                },
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "look", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "a cat"},
    ],
    "tools": [{"type": "function", "function": {"name": "look", "parameters": {}}}],
    "tool_choice": "auto",
    "response_format": {
        "type": "json_schema",
        "json_schema": {"name": "a", "schema": {"type": "object"}},
    },
    "temperature": 0.7,
    "top_p": 1.0,
    "max_tokens": 500,
    "stop": ["x"],
    "n": 1,
    "seed": 3,
    "frequency_penalty": 0.1,
    "presence_penalty": -0.1,
    "user": "u1",
    "stream": True,
    "stream_options": {"include_usage": True},
    "provider": {
        "order": ["moonshot"],
        "allow_fallbacks": False,
        "sort": "price",
        "max_price": {"prompt": 1, "completion": 3},
    },
    "logit_bias": {"1": 2},
    "reasoning_effort": "low",
}


@pytest.mark.req("CHAT-1")
def test_every_standard_field_parses_and_unknown_fields_are_kept() -> None:
    request = parse_chat_request(BODY)
    assert request.output_limit == 500
    assert isinstance(request.messages[1].content, list)
    assert isinstance(request.messages[1].content[1], ImagePart)
    assert isinstance(request.messages[3], ToolMessage)
    assert request.provider is not None and request.provider.max_price is not None
    assert request.provider.max_price.completion == 3
    assert request.stream_options is not None and request.stream_options.include_usage
    assert request.response_format is not None and request.response_format.json_schema
    assert request.model_extra == {"logit_bias": {"1": 2}, "reasoning_effort": "low"}
    assert request.raw is BODY  # the upstream body is built from it, not re-serialised


@pytest.mark.req("CHAT-1")
def test_max_completion_tokens_wins_and_bytes_parse_too() -> None:
    request = parse_chat_request(
        b'{"model":"m","messages":[{"role":"user","content":"x"}],'
        b'"max_tokens":5,"max_completion_tokens":9}'
    )
    assert request.output_limit == 9
    assert request.raw["max_tokens"] == 5


@pytest.mark.req("CHAT-1")
@pytest.mark.parametrize(
    ("body", "param", "message"),
    [
        (
            {"messages": [{"role": "user", "content": "x"}]},
            "model",
            "model: required field is missing",
        ),
        ({"model": "m", "messages": []}, "messages", None),
        (
            {"model": "m", "messages": [{"role": "robot", "content": "x"}]},
            "messages[0]",
            "unknown role 'robot'",
        ),
        (
            {"model": "m", "messages": [{"role": "user", "content": 5}]},
            "messages[0].content",
            "messages[0].content: expected a string or a list",
        ),
        (
            {
                "model": "m",
                "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}],
            },
            "messages[0].content[0].image_url.url",
            "required field is missing",
        ),
        (
            {"model": "m", "messages": [{"role": "tool", "content": "x"}]},
            "messages[0].tool_call_id",
            None,
        ),
        (
            {"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": 3},
            "temperature",
            "less than or equal to 2",
        ),
        (
            {
                "model": "m",
                "messages": [{"role": "user", "content": "x"}],
                "provider": {"sort": "fastest"},
            },
            "provider.sort",
            None,
        ),
        (
            {"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0},
            "max_tokens",
            None,
        ),
    ],
)
def test_validation_errors_name_the_field(
    body: dict[str, Any], param: str, message: str | None
) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_chat_request(body)
    assert caught.value.param == param
    assert caught.value.message.startswith(param)
    if message:
        assert message in caught.value.message
    assert caught.value.status == 400


@pytest.mark.parametrize("body", [b"{", b"[1, 2]", b"\xff"])
@pytest.mark.req("CHAT-1")
def test_a_body_that_is_not_a_json_object_is_a_bad_request(body: bytes) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_chat_request(body)
    assert caught.value.param is None
    assert "JSON" in caught.value.message
