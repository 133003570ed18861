from __future__ import annotations

from typing import Any

import httpx
import openai.types.chat as oa
import orjson
import pytest

from gateway.providers import GeminiUpstream


def sse(*events: tuple[str | None, object]) -> bytes:
    """SSE bytes as the vendor sends them: optional ``event:`` line, ``data:`` line, blank."""
    out = b""
    for name, data in events:
        out += f"event: {name}\n".encode() if name else b""
        out += b"data: " + (data.encode() if isinstance(data, str) else orjson.dumps(data))
        out += b"\n\n"
    return out


JPEG = "/9j/4AAQSkZJRgABAQAAAQABAAD"

REQUEST = {
    "messages": [
        {"role": "system", "content": "Answer in French."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What city is this?"},
                {"type": "image_url", "image_url": {"url": f"data:image/jpeg;base64,{JPEG}"}},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_9",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": '{"q": "Eiffel"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_9", "content": '{"city": "Paris"}'},
        {"role": "tool", "tool_call_id": "call_9", "content": "plain text result"},
    ],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "lookup",
                "description": "Search",
                "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
            },
        }
    ],
    "tool_choice": "required",
    "temperature": 0.4,
    "top_p": 0.8,
    "stop": ["\n\n"],
    "seed": 7,
    "presence_penalty": 0.5,
    "frequency_penalty": 0.25,
    "response_format": {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": {"type": "object"}},
    },
}

# A documented generateContent response with thoughts, a function call and cached tokens.
RESPONSE = {
    "candidates": [
        {
            "content": {
                "role": "model",
                "parts": [
                    {"text": "Thinking about it.", "thought": True},
                    {"text": "C'est Paris."},
                    {"functionCall": {"name": "lookup", "args": {"q": "Paris weather"}}},
                ],
            },
            "finishReason": "STOP",
            "index": 0,
            "safetyRatings": [
                {"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"}
            ],
        }
    ],
    "usageMetadata": {
        "promptTokenCount": 120,
        "candidatesTokenCount": 30,
        "thoughtsTokenCount": 50,
        "cachedContentTokenCount": 64,
        "totalTokenCount": 200,
    },
    "modelVersion": "gemini-2.5-flash",
    "responseId": "abc123",
}


@pytest.mark.req("CHAT-2")
async def test_request_is_translated_to_generate_content(
    kit: Any,
) -> None:
    mock = kit.upstream(lambda r: httpx.Response(200, json=RESPONSE))
    async with kit.client(mock) as client:
        await GeminiUpstream(client).complete(
            kit.call("google", REQUEST, limit=256, model="gemini-2.5-flash")
        )
    sent = mock.requests[0]
    assert str(sent.url) == (
        "https://api.example-google.test/v1beta/models/gemini-2.5-flash:generateContent"
    )
    assert sent.headers["x-goog-api-key"] == kit.key
    body = mock.body
    assert body["systemInstruction"] == {"parts": [{"text": "Answer in French."}]}
    user, model, result = body["contents"]
    assert user == {
        "role": "user",
        "parts": [
            {"text": "What city is this?"},
            {"inlineData": {"mimeType": "image/jpeg", "data": JPEG}},
        ],
    }
    assert model == {
        "role": "model",
        "parts": [{"functionCall": {"name": "lookup", "args": {"q": "Eiffel"}}}],
    }
    # Results are named after the call they answer; a non-object result is wrapped.
    assert result == {
        "role": "user",
        "parts": [
            {"functionResponse": {"name": "lookup", "response": {"city": "Paris"}}},
            {"functionResponse": {"name": "lookup", "response": {"content": "plain text result"}}},
        ],
    }
    assert body["generationConfig"] == {
        "temperature": 0.4,
        "topP": 0.8,
        "maxOutputTokens": 256,
        "seed": 7,
        "presencePenalty": 0.5,
        "frequencyPenalty": 0.25,
        "stopSequences": ["\n\n"],
        "responseMimeType": "application/json",
        "responseJsonSchema": {"type": "object"},
    }
    assert body["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "lookup",
                    "description": "Search",
                    "parameters": REQUEST["tools"][0]["function"]["parameters"],
                }
            ]
        }
    ]
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}


@pytest.mark.req("CHAT-2")
async def test_response_becomes_an_openai_completion(
    kit: Any,
) -> None:
    mock = kit.upstream(lambda r: httpx.Response(200, json=RESPONSE))
    async with kit.client(mock) as client:
        completion = await GeminiUpstream(client).complete(kit.call("google", REQUEST))
    parsed = oa.ChatCompletion.model_validate(completion.body)
    message = parsed.choices[0].message
    assert message.content == "C'est Paris."
    assert completion.body["choices"][0]["message"]["reasoning_content"] == "Thinking about it."
    assert message.tool_calls is not None
    assert message.tool_calls[0].function.name == "lookup"  # type: ignore[union-attr]
    assert parsed.choices[0].finish_reason == "tool_calls"
    usage = completion.usage
    assert usage is not None
    # Thoughts are output tokens, billed as reasoning.
    assert (usage.prompt, usage.completion, usage.reasoning, usage.cached) == (120, 80, 50, 64)


@pytest.mark.parametrize(
    ("reason", "finish"),
    [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("OTHER", "stop"),
    ],
)
@pytest.mark.req("CHAT-2")
async def test_finish_reasons_map(kit: Any, reason: str, finish: str) -> None:
    response = {
        "candidates": [
            {"content": {"role": "model", "parts": [{"text": "x"}]}, "finishReason": reason}
        ]
    }
    mock = kit.upstream(lambda r: httpx.Response(200, json=response))
    async with kit.client(mock) as client:
        completion = await GeminiUpstream(client).complete(kit.call("google", REQUEST))
    assert completion.body["choices"][0]["finish_reason"] == finish


STREAM = sse(
    (
        None,
        {
            "candidates": [{"content": {"role": "model", "parts": [{"text": "Bon"}]}, "index": 0}],
            "usageMetadata": {"promptTokenCount": 12, "totalTokenCount": 12},
            "modelVersion": "gemini-2.5-flash",
            "responseId": "r-1",
        },
    ),
    (
        None,
        {
            "candidates": [{"content": {"role": "model", "parts": [{"text": "jour"}]}, "index": 0}],
            "usageMetadata": {
                "promptTokenCount": 12,
                "candidatesTokenCount": 2,
                "totalTokenCount": 14,
            },
        },
    ),
    (
        None,
        {
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [{"functionCall": {"name": "lookup", "args": {"q": "x"}}}],
                    },
                    "finishReason": "STOP",
                    "index": 0,
                }
            ],
            "usageMetadata": {
                "promptTokenCount": 12,
                "candidatesTokenCount": 9,
                "totalTokenCount": 21,
            },
        },
    ),
).replace(b"\n\n", b"\r\n\r\n")  # Gemini's SSE ends lines with CRLF


@pytest.mark.req("CHAT-2")
async def test_stream_becomes_openai_chunks(
    kit: Any,
) -> None:
    mock = kit.upstream(kit.streamed(STREAM, 5))
    async with kit.client(mock) as client:
        stream = await GeminiUpstream(client).open_stream(
            kit.call("google", REQUEST, model="gemini-x")
        )
        chunks = [chunk async for chunk in stream]
        await stream.aclose()
    assert str(mock.requests[0].url).endswith(
        "/v1beta/models/gemini-x:streamGenerateContent?alt=sse"
    )
    for chunk in chunks:
        oa.ChatCompletionChunk.model_validate(chunk)
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert deltas[0] == {"role": "assistant", "content": ""}
    assert "".join(d.get("content") or "" for d in deltas) == "Bonjour"
    call = next(d["tool_calls"][0] for d in deltas if "tool_calls" in d)
    assert call["index"] == 0 and call["function"] == {"name": "lookup", "arguments": '{"q":"x"}'}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert stream.usage is not None
    assert (stream.usage.prompt, stream.usage.completion) == (12, 9)


@pytest.mark.parametrize(
    ("base", "url"),
    [
        (
            "https://generativelanguage.googleapis.com",
            "https://generativelanguage.googleapis.com/v1beta/models/g:generateContent",
        ),
        (
            "https://aiplatform.googleapis.com/v1/publishers/google",
            "https://aiplatform.googleapis.com/v1/publishers/google/models/g:generateContent",
        ),
    ],
)
def test_the_api_version_is_added_only_when_the_base_has_none(
    kit: Any, base: str, url: str
) -> None:
    call = kit.call("google", REQUEST, model="g", base=base)
    built, _ = GeminiUpstream(kit.client(kit.upstream(lambda r: httpx.Response(500)))).build(
        call, stream=False
    )
    assert built == url
