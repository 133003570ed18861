"""The official openai SDK against the gateway: every wire family, JSON and streams, tools."""

from __future__ import annotations

from typing import Any

import pytest
import trio
from openai import OpenAI

FAMILIES = [
    ("moonshotai:kimi-k2.5", "moonshot"),
    ("anthropic:claude-sonnet-4", "anthropic"),
    ("google/gemini-2.5-flash", "google"),
]

TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather of a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]


def sdk(served: str, token: str) -> OpenAI:
    return OpenAI(base_url=f"{served}/v1", api_key=token, max_retries=0)


@pytest.mark.parametrize(("model", "provider"), FAMILIES)
async def test_completion_with_usage_and_cost(
    served: str, token: str, model: str, provider: str
) -> None:
    def call() -> Any:
        return sdk(served, token).chat.completions.with_raw_response.create(
            model=model,
            messages=[{"role": "user", "content": "Hello! What can you do?"}],
            max_tokens=40,
            extra_body={"provider": {"only": [provider]}},
        )

    raw = await trio.to_thread.run_sync(call)
    reply = raw.parse()
    assert raw.headers["x-request-id"]
    text = reply.choices[0].message.content
    assert text and text.startswith(f"[simulated {provider}/")
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0
    extra = reply.usage.model_extra or {}
    assert extra["cost_micro_usd"] > 0
    assert reply.model_extra and reply.model_extra["provider"] == f"{provider} (simulated)"


@pytest.mark.parametrize(("model", "provider"), FAMILIES)
async def test_stream_ends_with_usage_and_cost(
    served: str, token: str, model: str, provider: str
) -> None:
    def call() -> tuple[str, Any]:
        stream = sdk(served, token).chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "Tell me a story"}],
            max_tokens=30,
            stream=True,
            stream_options={"include_usage": True},
            extra_body={"provider": {"only": [provider]}},
        )
        parts, usage = [], None
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                parts.append(chunk.choices[0].delta.content)
            if chunk.usage is not None:
                usage = chunk.usage
        return "".join(parts), usage

    text, usage = await trio.to_thread.run_sync(call)
    assert text.startswith(f"[simulated {provider}/")
    assert usage is not None and usage.completion_tokens > 0
    assert (usage.model_extra or {})["cost_micro_usd"] > 0


@pytest.mark.parametrize(("model", "provider"), FAMILIES)
async def test_tool_calls_round_trip(served: str, token: str, model: str, provider: str) -> None:
    def call() -> tuple[Any, Any]:
        client = sdk(served, token)
        messages: list[Any] = [{"role": "user", "content": "Weather in Paris?"}]
        first = client.chat.completions.create(
            model=model,
            messages=messages,
            tools=TOOLS,
            max_tokens=60,
            extra_body={"provider": {"only": [provider]}},
        )
        calls = first.choices[0].message.tool_calls
        messages.append(first.choices[0].message.model_dump(exclude_none=True))
        messages.append({"role": "tool", "tool_call_id": calls[0].id, "content": "sunny, 21C"})
        second = client.chat.completions.create(
            model=model,
            messages=messages,
            tools=TOOLS,
            max_tokens=60,
            extra_body={"provider": {"only": [provider]}},
        )
        return first, second

    first, second = await trio.to_thread.run_sync(call)
    assert first.choices[0].finish_reason == "tool_calls"
    assert first.choices[0].message.tool_calls[0].function.name == "get_weather"
    assert "city" in first.choices[0].message.tool_calls[0].function.arguments
    assert "sunny, 21C" in (second.choices[0].message.content or "")
