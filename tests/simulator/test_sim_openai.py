"""OpenAI Chat Completions, as the official ``openai`` SDK sees the simulator."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest
import trio

from gateway.tokenizer import count_prompt_tokens, count_text_tokens

MODEL = "gpt-4o-mini"
MESSAGES: list[dict[str, Any]] = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Name a colour."},
]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
                "verbose": {"type": "boolean"},
            },
            "required": ["city", "unit", "days"],
        },
    },
}


@pytest.mark.req("SIM-OPENAI")
@pytest.mark.req("SIM-LABEL")
@pytest.mark.req("SIM-REPLY")
@pytest.mark.req("SIM-COUNT")
async def test_json_completion_is_labelled_deterministic_and_honestly_counted(
    openai_client: openai.OpenAI,
) -> None:
    def call(messages: list[dict[str, Any]]) -> Any:
        return openai_client.chat.completions.with_raw_response.create(
            model=MODEL, messages=messages
        )

    raw = await trio.to_thread.run_sync(call, MESSAGES)
    again = (await trio.to_thread.run_sync(call, MESSAGES)).parse()
    other = (await trio.to_thread.run_sync(call, [{"role": "user", "content": "Other."}])).parse()
    completion = raw.parse()
    text = completion.choices[0].message.content
    assert raw.headers["x-bitrouter-simulator"] == "1"
    assert completion.system_fingerprint == "bitrouter-simulator"
    assert text.startswith(f"[simulated openai/{MODEL}] ")
    assert completion.choices[0].finish_reason == "stop"
    assert again.choices[0].message.content == text
    assert other.choices[0].message.content != text
    usage = completion.usage
    assert usage.prompt_tokens == count_prompt_tokens(MESSAGES, "openai")
    assert usage.completion_tokens == count_text_tokens(text, "openai") == 24
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.prompt_tokens_details.cached_tokens == 0
    assert usage.completion_tokens_details.reasoning_tokens == 0


@pytest.mark.req("SIM-OPENAI")
async def test_stream_matches_json_and_ends_with_usage_chunk(openai_client: openai.OpenAI) -> None:
    def stream() -> list[Any]:
        return list(
            openai_client.chat.completions.create(
                model=MODEL,
                messages=MESSAGES,
                stream=True,
                stream_options={"include_usage": True},
            )
        )

    def plain() -> Any:
        return openai_client.chat.completions.create(model=MODEL, messages=MESSAGES)

    chunks = await trio.to_thread.run_sync(stream)
    completion = await trio.to_thread.run_sync(plain)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == completion.choices[0].message.content
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 3
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop" and set(finishes[:-1]) == {None}
    assert chunks[-1].choices == []
    assert chunks[-1].usage.model_dump() == completion.usage.model_dump()
    assert all(c.usage is None for c in chunks[:-1])


@pytest.mark.req("SIM-OPENAI")
@pytest.mark.req("SIM-REPLY")
@pytest.mark.req("SIM-COUNT")
async def test_tool_call_in_json_and_stream_then_quotes_the_result(
    openai_client: openai.OpenAI,
) -> None:
    ask = [{"role": "user", "content": "Weather in Oslo?"}]

    def plain(messages: list[dict[str, Any]]) -> Any:
        return openai_client.chat.completions.create(
            model=MODEL, messages=messages, tools=[WEATHER_TOOL]
        )

    def stream() -> list[Any]:
        return list(
            openai_client.chat.completions.create(
                model=MODEL, messages=ask, tools=[WEATHER_TOOL], stream=True
            )
        )

    completion = await trio.to_thread.run_sync(plain, ask)
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls
    arguments = json.loads(call.function.arguments)
    assert call.function.name == "get_weather"
    assert set(arguments) == {"city", "unit", "days"}
    assert arguments["unit"] == "celsius" and 1 <= arguments["days"] <= 7
    assert completion.usage.completion_tokens == count_text_tokens(
        "get_weather" + call.function.arguments, "openai"
    )
    assert completion.usage.prompt_tokens == count_prompt_tokens(ask, "openai", [WEATHER_TOOL])

    chunks = await trio.to_thread.run_sync(stream)
    deltas = [d for c in chunks for d in c.choices[0].delta.tool_calls or ()]
    assert deltas[0].id == call.id and deltas[0].function.name == "get_weather"
    assert len(deltas) > 2
    assert "".join(d.function.arguments or "" for d in deltas) == call.function.arguments
    assert chunks[-1].choices[0].finish_reason == "tool_calls"

    followed = [
        *ask,
        {"role": "assistant", "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21 degrees"},
    ]
    answer = await trio.to_thread.run_sync(plain, followed)
    assert answer.choices[0].finish_reason == "stop"
    assert 'tool result: "sunny, 21 degrees"' in answer.choices[0].message.content


@pytest.mark.req("SIM-OPENAI")
@pytest.mark.req("SIM-REPLY")
async def test_n_stop_and_length(openai_client: openai.OpenAI) -> None:
    def create(**extra: Any) -> Any:
        return openai_client.chat.completions.create(model=MODEL, messages=MESSAGES, **extra)

    several = await trio.to_thread.run_sync(lambda: create(n=3))
    texts = [c.message.content for c in several.choices]
    assert [c.index for c in several.choices] == [0, 1, 2] and len(set(texts)) == 3
    assert several.usage.completion_tokens == sum(count_text_tokens(t, "openai") for t in texts)

    stopped = await trio.to_thread.run_sync(lambda: create(stop=["/"]))
    assert stopped.choices[0].message.content == "[simulated openai"
    assert stopped.choices[0].finish_reason == "stop"

    short = await trio.to_thread.run_sync(lambda: create(max_tokens=15))
    assert short.choices[0].finish_reason == "length"
    assert short.usage.completion_tokens == 15
    tiny = await trio.to_thread.run_sync(lambda: create(max_completion_tokens=2))
    assert tiny.usage.completion_tokens <= 2 and tiny.choices[0].finish_reason == "length"
    assert tiny.choices[0].message.content.startswith("[s")


@pytest.mark.req("SIM-CONTROL")
@pytest.mark.req("SIM-COUNT")
async def test_marker_sets_length_reasoning_and_cached(openai_client: openai.OpenAI) -> None:
    messages = [{"role": "user", "content": "Long answer [[sim:tokens=40,reasoning=7,cached=5]]"}]
    completion = await trio.to_thread.run_sync(
        lambda: openai_client.chat.completions.create(model=MODEL, messages=messages)
    )
    text = completion.choices[0].message.content
    usage = completion.usage
    assert count_text_tokens(text, "openai") == 40
    assert usage.completion_tokens == 47
    assert usage.completion_tokens_details.reasoning_tokens == 7
    assert usage.prompt_tokens_details.cached_tokens == 5
    assert usage.prompt_tokens == count_prompt_tokens(messages, "openai")


@pytest.mark.req("SIM-AUTH")
async def test_missing_key_is_401_in_openai_shape(http: httpx.AsyncClient) -> None:
    body = {"model": MODEL, "messages": MESSAGES}
    response = await http.post("/p/openai/v1/chat/completions", json=body)
    empty = await http.post(
        "/p/openai/v1/chat/completions", json=body, headers={"authorization": "Bearer"}
    )
    assert response.status_code == empty.status_code == 401
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["code"] == "invalid_api_key"
    assert "Authorization" in error["message"]


@pytest.mark.req("SIM-OPENAI")
async def test_models_list(openai_client: openai.OpenAI) -> None:
    models = await trio.to_thread.run_sync(lambda: list(openai_client.models.list()))
    assert [m.id for m in models] == ["sim-small", "sim-large"]
