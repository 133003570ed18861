from __future__ import annotations

from typing import Any

import httpx
import openai.types.chat as oa
import orjson
import pytest

from gateway.providers import OpenAIUpstream, UpstreamFailure


def sse(*events: tuple[str | None, object]) -> bytes:
    """SSE bytes as the vendor sends them: optional ``event:`` line, ``data:`` line, blank."""
    out = b""
    for name, data in events:
        out += f"event: {name}\n".encode() if name else b""
        out += b"data: " + (data.encode() if isinstance(data, str) else orjson.dumps(data))
        out += b"\n\n"
    return out


# OpenAI's documented non-streaming response, with usage details (cached and reasoning tokens).
COMPLETION = {
    "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
    "object": "chat.completion",
    "created": 1741570283,
    "model": "gpt-4o-2024-08-06",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_abc123",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    }
                ],
                "refusal": None,
                "annotations": [],
            },
            "logprobs": None,
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {
        "prompt_tokens": 1117,
        "completion_tokens": 46,
        "total_tokens": 1163,
        "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 12,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    },
    "service_tier": "default",
    "system_fingerprint": "fp_fc9f1d7035",
}

REQUEST = {
    "messages": [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this image?"},
                {"type": "image_url", "image_url": {"url": "https://example.test/a.png"}},
            ],
        },
    ],
    "temperature": 0.2,
    "logit_bias": {"50256": -100},
    "provider": {"order": ["openai"]},
    "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}],
}


@pytest.mark.req("CHAT-2")
async def test_request_passes_through_with_provider_model_and_limit(
    kit: Any,
) -> None:
    mock = kit.upstream(lambda r: httpx.Response(200, json=COMPLETION))
    async with kit.client(mock) as client:
        call = kit.call("openai", REQUEST, limit=77, provider="openai", model="gpt-4o")
        completion = await OpenAIUpstream(client).complete(call)
    sent = mock.requests[0]
    assert str(sent.url) == "https://api.example-openai.test/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {kit.key}"
    body = mock.body
    assert body["model"] == "gpt-4o"
    assert "provider" not in body  # gateway-only field never leaves
    assert body["logit_bias"] == {"50256": -100}  # unknown fields pass through
    assert body["messages"] == REQUEST["messages"]
    assert body["max_completion_tokens"] == 77  # OpenAI itself gets the new field name
    assert body["stream"] is False
    usage = completion.usage
    assert usage is not None
    assert (usage.prompt, usage.completion, usage.cached, usage.reasoning) == (1117, 46, 1024, 12)
    assert "usage" not in completion.body
    oa.ChatCompletion.model_validate(completion.body)


async def test_other_compatible_providers_get_max_tokens_and_keep_the_callers_field(
    kit: Any,
) -> None:
    mock = kit.upstream(lambda r: httpx.Response(200, json=COMPLETION))
    async with kit.client(mock) as client:
        await OpenAIUpstream(client).complete(
            kit.call("openai", REQUEST, limit=5, provider="deepseek")
        )
        assert mock.body["max_tokens"] == 5
        assert "max_completion_tokens" not in mock.body
        body = {**REQUEST, "max_completion_tokens": 900}
        await OpenAIUpstream(client).complete(
            kit.call("openai", body, limit=50, provider="moonshot")
        )
        assert mock.body["max_completion_tokens"] == 50


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        (
            {"prompt_tokens": 10, "completion_tokens": 3, "prompt_cache_hit_tokens": 8},
            8,
        ),  # DeepSeek
        ({"prompt_tokens": 10, "completion_tokens": 3, "cached_tokens": 6}, 6),  # Moonshot
    ],
)
async def test_vendor_cache_fields_are_read(kit: Any, usage: dict[str, int], expected: int) -> None:
    mock = kit.upstream(lambda r: httpx.Response(200, json={**COMPLETION, "usage": usage}))
    async with kit.client(mock) as client:
        completion = await OpenAIUpstream(client).complete(kit.call("openai", REQUEST))
    assert completion.usage is not None and completion.usage.cached == expected


STREAM = sse(
    (
        None,
        {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [
                {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
            ],
            "usage": None,
        },
    ),
    (
        None,
        {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": {"content": "Hello"}, "finish_reason": None}],
            "usage": None,
        },
    ),
    (
        None,
        {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            "usage": None,
        },
    ),
    (
        None,
        {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [],
            "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11},
        },
    ),
    (None, "[DONE]"),
)


@pytest.mark.req("CHAT-2")
async def test_stream_asks_for_usage_and_takes_the_usage_chunk_out(
    kit: Any,
) -> None:
    mock = kit.upstream(kit.streamed(STREAM))
    async with kit.client(mock) as client:
        stream = await OpenAIUpstream(client).open_stream(
            kit.call("openai", {**REQUEST, "stream": True})
        )
        chunks = [chunk async for chunk in stream]
        await stream.aclose()
    assert mock.body["stream"] is True
    assert mock.body["stream_options"] == {"include_usage": True}
    assert [c["choices"][0]["delta"].get("content") for c in chunks] == ["", "Hello", None]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    for chunk in chunks:
        oa.ChatCompletionChunk.model_validate(chunk)
    assert stream.usage is not None and (stream.usage.prompt, stream.usage.completion) == (9, 2)


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (400, False),
        (422, False),
        (401, True),
        (404, True),
        (408, True),
        (429, True),
        (500, True),
        (503, True),
    ],
)
@pytest.mark.req("ROUTE-5")
async def test_status_failures_say_whether_another_provider_may_try(
    kit: Any, status: int, retryable: bool
) -> None:
    error = {"error": {"message": f"Incorrect API key provided: {kit.key[:8]}***", "type": "x"}}
    mock = kit.upstream(lambda r: httpx.Response(status, json=error))
    async with kit.client(mock) as client:
        with pytest.raises(UpstreamFailure) as caught:
            await OpenAIUpstream(client).complete(kit.call("openai", REQUEST))
    failure = caught.value
    assert failure.retryable is retryable
    assert failure.upstream_status == status
    assert kit.key[:8] not in failure.message  # a key fragment in an upstream message never leaks


async def test_a_stream_that_fails_before_its_first_event_can_fail_over(
    kit: Any,
) -> None:
    broken = sse((None, {"error": {"message": "overloaded"}}))
    mock = kit.upstream(lambda r: httpx.Response(200, content=broken))
    async with kit.client(mock) as client:
        with pytest.raises(UpstreamFailure) as caught:
            await OpenAIUpstream(client).open_stream(kit.call("openai", REQUEST))
    assert caught.value.retryable
    assert "overloaded" in caught.value.message


async def test_malformed_json_is_a_retryable_failure(
    kit: Any,
) -> None:
    mock = kit.upstream(lambda r: httpx.Response(200, content=b'{"id": "x", "choices": ['))
    async with kit.client(mock) as client:
        with pytest.raises(UpstreamFailure) as caught:
            await OpenAIUpstream(client).complete(kit.call("openai", REQUEST))
    assert caught.value.kind == "malformed" and caught.value.retryable


async def test_connection_errors_are_retryable_failures_without_details(
    kit: Any,
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with kit.client(kit.upstream(refuse)) as client:
        with pytest.raises(UpstreamFailure) as caught:
            await OpenAIUpstream(client).complete(kit.call("openai", REQUEST))
    assert caught.value.kind == "network" and caught.value.retryable
