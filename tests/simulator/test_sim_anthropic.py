"""Anthropic Messages, as the official ``anthropic`` SDK sees the simulator."""

from __future__ import annotations

import base64
from typing import Any

import anthropic
import httpx
import pytest
import trio

from gateway.tokenizer import count_prompt_tokens, count_text_tokens

MODEL = "claude-sonnet-4"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather in a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "when": {"type": "string"}},
        "required": ["city"],
    },
}


@pytest.mark.req("SIM-ANTHROPIC")
@pytest.mark.req("SIM-LABEL")
@pytest.mark.req("SIM-COUNT")
async def test_json_message_with_system_and_images(anthropic_client: anthropic.Anthropic) -> None:
    content: list[dict[str, Any]] = [
        {"type": "text", "text": "What is in these pictures?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}},
    ]

    def call() -> Any:
        return anthropic_client.messages.with_raw_response.create(
            model=MODEL,
            max_tokens=100,
            system="Be brief.",
            messages=[{"role": "user", "content": content}],
        )

    raw = await trio.to_thread.run_sync(call)
    message = raw.parse()
    assert raw.headers["x-bitrouter-simulator"] == "1"
    (block,) = message.content
    assert block.type == "text" and block.text.startswith(f"[simulated anthropic/{MODEL}] ")
    assert message.stop_reason == "end_turn" and message.stop_sequence is None
    # The documented conversion: the system prompt is a system message, images are image parts.
    as_openai = [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in these pictures?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64," + PNG}},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
            ],
        },
    ]
    assert message.usage.input_tokens == count_prompt_tokens(as_openai, "anthropic")
    assert message.usage.output_tokens == count_text_tokens(block.text, "anthropic") <= 24
    assert message.usage.cache_read_input_tokens == 0
    assert message.usage.cache_creation_input_tokens == 0


@pytest.mark.req("SIM-ANTHROPIC")
async def test_stream_helper_builds_the_same_message(anthropic_client: anthropic.Anthropic) -> None:
    request: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": 200,
        "messages": [{"role": "user", "content": "Tell me a story [[sim:tokens=60]]"}],
    }

    def streamed() -> tuple[str, Any, list[str]]:
        with anthropic_client.messages.stream(**request) as stream:
            kinds = []
            for event in stream:
                kinds.append(event.type)
            return stream.get_final_text(), stream.get_final_message(), kinds

    text, final, kinds = await trio.to_thread.run_sync(streamed)
    plain = await trio.to_thread.run_sync(lambda: anthropic_client.messages.create(**request))
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert {"content_block_start", "content_block_stop", "message_delta"} <= set(kinds)
    assert text == plain.content[0].text == final.content[0].text
    # 1.2 anthropic tokens a word: the reply stops at the last whole word within 60
    assert final.usage.output_tokens == plain.usage.output_tokens
    assert final.usage.output_tokens == count_text_tokens(text, "anthropic") in (59, 60)
    assert final.usage.input_tokens == plain.usage.input_tokens
    assert final.stop_reason == "end_turn"


@pytest.mark.req("SIM-ANTHROPIC")
@pytest.mark.req("SIM-REPLY")
async def test_tool_use_in_json_and_stream_then_quotes_the_result(
    anthropic_client: anthropic.Anthropic,
) -> None:
    ask = [{"role": "user", "content": "Weather in Oslo?"}]

    def create(messages: list[dict[str, Any]]) -> Any:
        return anthropic_client.messages.create(
            model=MODEL, max_tokens=300, messages=messages, tools=[WEATHER_TOOL]
        )

    def streamed() -> Any:
        with anthropic_client.messages.stream(
            model=MODEL, max_tokens=300, messages=ask, tools=[WEATHER_TOOL]
        ) as stream:
            return stream.get_final_message()

    message = await trio.to_thread.run_sync(create, ask)
    final = await trio.to_thread.run_sync(streamed)
    (use,) = message.content
    assert use.type == "tool_use" and use.name == "get_weather" and set(use.input) == {"city"}
    assert message.stop_reason == final.stop_reason == "tool_use"
    assert final.content[0].input == use.input and final.content[0].id == use.id

    followed = [
        *ask,
        {"role": "assistant", "content": [use.model_dump()]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "rain"}],
        },
    ]
    answer = await trio.to_thread.run_sync(create, followed)
    assert answer.stop_reason == "end_turn"
    assert 'tool result: "rain"' in answer.content[0].text


@pytest.mark.req("SIM-ANTHROPIC")
@pytest.mark.req("SIM-CONTROL")
async def test_stop_reasons_and_cache_usage(anthropic_client: anthropic.Anthropic) -> None:
    def create(content: str, **extra: Any) -> Any:
        return anthropic_client.messages.create(
            model=MODEL,
            max_tokens=extra.pop("max_tokens", 100),
            messages=[{"role": "user", "content": content}],
            **extra,
        )

    stopped = await trio.to_thread.run_sync(lambda: create("Hi", stop_sequences=["/"]))
    assert stopped.stop_reason == "stop_sequence" and stopped.stop_sequence == "/"
    assert stopped.content[0].text == "[simulated anthropic"

    short = await trio.to_thread.run_sync(lambda: create("Hi", max_tokens=8))
    assert short.stop_reason == "max_tokens" and short.usage.output_tokens <= 8

    cached = await trio.to_thread.run_sync(lambda: create("Hi [[sim:cached=6,cache_write=2]]"))
    total = count_prompt_tokens(
        [{"role": "user", "content": "Hi [[sim:cached=6,cache_write=2]]"}], "anthropic"
    )
    usage = cached.usage
    assert (usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (6, 2)
    assert usage.input_tokens == total - 8


@pytest.mark.req("SIM-AUTH")
async def test_keys_and_version_header(sim_url: str, http: httpx.AsyncClient) -> None:
    def bearer() -> Any:
        with anthropic.Anthropic(
            base_url=f"{sim_url}/p/anthropic", auth_token="tok", max_retries=0
        ) as client:
            return client.messages.create(
                model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "Hi"}]
            )

    assert (await trio.to_thread.run_sync(bearer)).content[0].text.startswith("[simulated")
    body = {"model": MODEL, "max_tokens": 10, "messages": [{"role": "user", "content": "Hi"}]}
    no_key = await http.post(
        "/p/anthropic/v1/messages", json=body, headers={"anthropic-version": "2023-06-01"}
    )
    assert no_key.status_code == 401
    assert no_key.json()["error"]["type"] == "authentication_error"
    no_version = await http.post("/p/anthropic/v1/messages", json=body, headers={"x-api-key": "k"})
    assert no_version.status_code == 400
    assert "anthropic-version" in no_version.json()["error"]["message"]


@pytest.mark.req("SIM-AUTH")
async def test_request_errors_name_the_field(http: httpx.AsyncClient) -> None:
    headers = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
    body = {"model": MODEL, "messages": [{"role": "user", "content": "Hi"}]}
    response = await http.post("/p/anthropic/v1/messages", json=body, headers=headers)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"].startswith("max_tokens:")
