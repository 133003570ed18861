from __future__ import annotations

from typing import Any

import httpx
import openai.types.chat as oa
import orjson
import pytest

from gateway.errors import BadRequest
from gateway.providers import AnthropicUpstream, UpstreamFailure


def sse(*events: tuple[str | None, object]) -> bytes:
    """SSE bytes as the vendor sends them: optional ``event:`` line, ``data:`` line, blank."""
    out = b""
    for name, data in events:
        out += f"event: {name}\n".encode() if name else b""
        out += b"data: " + (data.encode() if isinstance(data, str) else orjson.dumps(data))
        out += b"\n\n"
    return out


PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"

# A conversation with everything the translation must handle: system prompt, image (data URL
# and plain URL), a tool call and its result, stop sequences, a forced tool choice.
REQUEST = {
    "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "developer", "content": [{"type": "text", "text": "Use tools."}]},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Weather where this photo was taken?"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                {"type": "image_url", "image_url": {"url": "https://example.test/b.jpg"}},
            ],
        },
        {
            "role": "assistant",
            "content": "Let me check.",
            "tool_calls": [
                {
                    "id": "toolu_01",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "toolu_01", "content": '{"temp_c": 18}'},
        {"role": "user", "content": "And tomorrow?"},
    ],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ],
    "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    "parallel_tool_calls": False,
    "temperature": 1.7,
    "top_p": 0.9,
    "stop": "END",
    "user": "user-42",
}

# Anthropic's documented tool-use response.
MESSAGE = {
    "id": "msg_01Aq9w938a90dw8q",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-20250514",
    "content": [
        {"type": "text", "text": "I'll check the weather."},
        {
            "type": "tool_use",
            "id": "toolu_01A09q90qw90lq917835lq9",
            "name": "get_weather",
            "input": {"city": "Paris", "unit": "celsius"},
        },
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 472,
        "output_tokens": 89,
        "cache_creation_input_tokens": 100,
        "cache_read_input_tokens": 1000,
    },
}


@pytest.mark.req("CHAT-2")
async def test_request_is_translated_to_messages(
    kit: Any,
) -> None:
    mock = kit.upstream(lambda r: httpx.Response(200, json=MESSAGE))
    async with kit.client(mock) as client:
        await AnthropicUpstream(client).complete(kit.call("anthropic", REQUEST, limit=300))
    sent = mock.requests[0]
    assert str(sent.url) == "https://api.example-anthropic.test/v1/messages"
    assert sent.headers["x-api-key"] == kit.key
    assert sent.headers["anthropic-version"] == "2023-06-01"
    body = mock.body
    assert body["model"] == "vendor-model-1"
    assert body["max_tokens"] == 300
    assert body["system"] == [
        {"type": "text", "text": "You are terse."},
        {"type": "text", "text": "Use tools."},
    ]
    assert body["temperature"] == 1.0  # clamped to Anthropic's range
    assert body["top_p"] == 0.9
    assert body["stop_sequences"] == ["END"]
    assert body["metadata"] == {"user_id": "user-42"}
    assert body["tools"] == [
        {
            "name": "get_weather",
            "description": "Current weather",
            "input_schema": REQUEST["tools"][0]["function"]["parameters"],
        }
    ]
    assert body["tool_choice"] == {
        "type": "tool",
        "name": "get_weather",
        "disable_parallel_tool_use": True,
    }
    user, assistant, result = body["messages"]
    assert user["role"] == "user"
    assert user["content"][1] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": PNG},
    }
    assert user["content"][2] == {
        "type": "image",
        "source": {"type": "url", "url": "https://example.test/b.jpg"},
    }
    assert assistant == {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Let me check."},
            {
                "type": "tool_use",
                "id": "toolu_01",
                "name": "get_weather",
                "input": {"city": "Paris"},
            },
        ],
    }
    # The tool result and the next user turn merge into one user turn (roles must alternate).
    assert result == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01", "content": '{"temp_c": 18}'},
            {"type": "text", "text": "And tomorrow?"},
        ],
    }


@pytest.mark.parametrize(
    ("choice", "expected"),
    [("auto", {"type": "auto"}), ("required", {"type": "any"}), ("none", {"type": "none"})],
)
async def test_tool_choice_names_map(kit: Any, choice: str, expected: object) -> None:
    mock = kit.upstream(lambda r: httpx.Response(200, json=MESSAGE))
    body = {
        "messages": [{"role": "user", "content": "hi"}],
        "tools": REQUEST["tools"],
        "tool_choice": choice,
    }
    async with kit.client(mock) as client:
        await AnthropicUpstream(client).complete(kit.call("anthropic", body))
    assert mock.body["tool_choice"] == expected
    assert mock.body["max_tokens"] == 4096  # Messages requires one


@pytest.mark.req("CHAT-2")
async def test_response_becomes_an_openai_completion_with_tool_calls_and_cache_usage(
    kit: Any,
) -> None:
    mock = kit.upstream(lambda r: httpx.Response(200, json=MESSAGE))
    async with kit.client(mock) as client:
        completion = await AnthropicUpstream(client).complete(kit.call("anthropic", REQUEST))
    parsed = oa.ChatCompletion.model_validate(completion.body)
    choice = parsed.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "I'll check the weather."
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.id == "toolu_01A09q90qw90lq917835lq9"
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert call.function.arguments == '{"city":"Paris","unit":"celsius"}'  # type: ignore[union-attr]
    usage = completion.usage
    assert usage is not None
    # Anthropic's input_tokens excludes cache reads and writes; the prompt includes them.
    assert (usage.prompt, usage.cached, usage.cache_write, usage.completion) == (
        1572,
        1000,
        100,
        89,
    )


@pytest.mark.parametrize(
    ("stop", "finish"),
    [
        ("end_turn", "stop"),
        ("max_tokens", "length"),
        ("stop_sequence", "stop"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
    ],
)
@pytest.mark.req("CHAT-2")
async def test_stop_reasons_map(kit: Any, stop: str, finish: str) -> None:
    message = {**MESSAGE, "stop_reason": stop, "content": [{"type": "text", "text": "x"}]}
    mock = kit.upstream(lambda r: httpx.Response(200, json=message))
    async with kit.client(mock) as client:
        completion = await AnthropicUpstream(client).complete(kit.call("anthropic", REQUEST))
    assert completion.body["choices"][0]["finish_reason"] == finish


# Anthropic's documented streaming example (text, then a tool_use block with partial JSON).
STREAM = sse(
    (
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": "msg_014p7gG3wDgGV9EUtLvnow3U",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-20250514",
                "stop_sequence": None,
                "content": [],
                "stop_reason": None,
                "usage": {"input_tokens": 472, "output_tokens": 2},
            },
        },
    ),
    (
        "content_block_start",
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ),
    ("ping", {"type": "ping"}),
    (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": "Okay"},
        },
    ),
    (
        "content_block_delta",
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": ","}},
    ),
    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    (
        "content_block_start",
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {
                "type": "tool_use",
                "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
                "name": "get_weather",
                "input": {},
            },
        },
    ),
    (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": ""},
        },
    ),
    (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": '{"location":'},
        },
    ),
    (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": ' "San Francisco, CA"}'},
        },
    ),
    ("content_block_stop", {"type": "content_block_stop", "index": 1}),
    (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": None},
            "usage": {"output_tokens": 89},
        },
    ),
    ("message_stop", {"type": "message_stop"}),
)


@pytest.mark.req("CHAT-2")
async def test_stream_events_become_openai_chunks(
    kit: Any,
) -> None:
    mock = kit.upstream(kit.streamed(STREAM, 11))
    async with kit.client(mock) as client:
        stream = await AnthropicUpstream(client).open_stream(kit.call("anthropic", REQUEST))
        chunks = [chunk async for chunk in stream]
        await stream.aclose()
    assert mock.body["stream"] is True
    for chunk in chunks:
        oa.ChatCompletionChunk.model_validate(chunk)
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert deltas[0] == {"role": "assistant", "content": ""}
    assert "".join(d.get("content", "") for d in deltas) == "Okay,"
    calls = [d["tool_calls"][0] for d in deltas if "tool_calls" in d]
    assert calls[0]["id"] == "toolu_01T1x1fJ34qAmk2tNTrN7Up6"
    assert calls[0]["function"]["name"] == "get_weather"
    assert all(c["index"] == 0 for c in calls)
    arguments = "".join(c["function"]["arguments"] for c in calls)
    assert arguments == '{"location": "San Francisco, CA"}'
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert stream.usage is not None
    assert (stream.usage.prompt, stream.usage.completion) == (472, 89)


async def test_an_error_event_after_the_first_chunk_ends_the_stream_with_a_failure(
    kit: Any,
) -> None:
    events = STREAM.split(b"\n\n")
    broken = (
        b"\n\n".join(events[:4])
        + b"\n\n"
        + sse(
            (
                "error",
                {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
            )
        )
    )
    mock = kit.upstream(kit.streamed(broken, 40))
    async with kit.client(mock) as client:
        stream = await AnthropicUpstream(client).open_stream(kit.call("anthropic", REQUEST))
        with pytest.raises(UpstreamFailure) as caught:
            async for _ in stream:
                pass
        await stream.aclose()
    assert caught.value.kind == "midstream" and not caught.value.retryable
    assert "Overloaded" in caught.value.message


async def test_tool_arguments_that_are_not_an_object_are_the_callers_error(kit: Any) -> None:
    body = {
        "messages": [
            {"role": "user", "content": "hi"},
            {
                "role": "assistant",
                "tool_calls": [
                    {"id": "a", "type": "function", "function": {"name": "f", "arguments": "[1"}}
                ],
            },
            {"role": "tool", "tool_call_id": "a", "content": "ok"},
        ]
    }
    async with kit.client(kit.upstream(lambda r: httpx.Response(500))) as client:
        with pytest.raises(BadRequest) as caught:
            await AnthropicUpstream(client).complete(kit.call("anthropic", body))
    assert caught.value.param == "messages[1].tool_calls[0].function.arguments"
