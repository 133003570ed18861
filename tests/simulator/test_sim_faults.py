"""Every fault kind, observed the way a client sees it."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pytest
import trio

CHAT = "/p/openai/v1/chat/completions"
AUTH = {"authorization": "Bearer sk-sim"}


def _chat(text: str = "Hello", **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o", "messages": [{"role": "user", "content": text}], **extra}


@pytest.mark.req("SIM-FAULT-429")
@pytest.mark.req("SIM-CONTROL")
async def test_429_has_retry_after_and_sdk_sees_rate_limit(
    http: httpx.AsyncClient, openai_client: openai.OpenAI
) -> None:
    response = await http.post(CHAT, json=_chat("Hi [[sim:429,retry_after=7]]"), headers=AUTH)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert response.json()["error"]["code"] == "rate_limit_exceeded"

    def call() -> None:
        openai_client.chat.completions.create(**_chat("Hi [[sim:fault=429]]"))

    with pytest.raises(openai.RateLimitError):
        await trio.to_thread.run_sync(call)


@pytest.mark.req("SIM-FAULT-5XX")
@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_in_each_family_shape(http: httpx.AsyncClient, status: int) -> None:
    fault = {"x-sim-fault": str(status)}
    oa = await http.post(CHAT, json=_chat(), headers={**AUTH, **fault})
    an = await http.post(
        "/p/anthropic/v1/messages",
        json={"model": "c", "max_tokens": 5, "messages": [{"role": "user", "content": "Hi"}]},
        headers={"x-api-key": "k", "anthropic-version": "2023-06-01", **fault},
    )
    ge = await http.post(
        "/p/google/v1beta/models/g:generateContent",
        json={"contents": [{"parts": [{"text": "Hi"}]}]},
        headers={"x-goog-api-key": "k", **fault},
    )
    assert oa.status_code == an.status_code == ge.status_code == status
    assert oa.json()["error"]["type"] == "server_error"
    assert an.json()["error"]["type"] == {500: "api_error", 503: "overloaded_error"}[status]
    assert ge.json()["error"]["status"] == {500: "INTERNAL", 503: "UNAVAILABLE"}[status]


@pytest.mark.req("SIM-FAULT-RESET")
async def test_reset_is_a_transport_error(
    http: httpx.AsyncClient, anthropic_client: anthropic.Anthropic
) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        await http.post(CHAT, json=_chat(), headers={**AUTH, "x-sim-fault": "reset"})

    def call() -> None:
        anthropic_client.messages.create(
            model="c", max_tokens=5, messages=[{"role": "user", "content": "[[sim:reset]]"}]
        )

    with pytest.raises(anthropic.APIConnectionError):
        await trio.to_thread.run_sync(call)


@pytest.mark.req("SIM-FAULT-TIMEOUT")
async def test_timeout_fires_the_client_timeout(http: httpx.AsyncClient) -> None:
    with trio.fail_after(5), pytest.raises(httpx.ReadTimeout):
        await http.post(CHAT, json=_chat("[[sim:timeout]]"), headers=AUTH, timeout=0.3)


@pytest.mark.req("SIM-FAULT-CUT")
async def test_cut_stream_stops_without_done_and_breaks(http: httpx.AsyncClient) -> None:
    lines: list[str] = []
    body = _chat("[[sim:cut]]", stream=True)
    with pytest.raises(httpx.RemoteProtocolError):
        async with http.stream("POST", CHAT, json=body, headers=AUTH) as response:
            assert response.status_code == 200
            async for line in response.aiter_lines():
                lines.append(line)
    data = [line for line in lines if line.startswith("data: ")]
    assert len(data) >= 2 and "data: [DONE]" not in data
    assert all(json.loads(line[6:])["choices"][0]["finish_reason"] is None for line in data)

    cut_json = _chat("Hi")
    with pytest.raises(httpx.RemoteProtocolError):
        await http.post(CHAT, json=cut_json, headers={**AUTH, "x-sim-fault": "cut"})


@pytest.mark.req("SIM-FAULT-CUT")
async def test_cut_anthropic_stream_fails_in_the_sdk(anthropic_client: anthropic.Anthropic) -> None:
    def stream() -> None:
        with anthropic_client.messages.stream(
            model="c", max_tokens=50, messages=[{"role": "user", "content": "[[sim:cut]]"}]
        ) as events:
            events.get_final_message()

    # The SDK does not wrap errors raised while a stream is read: its transport's own surfaces.
    with pytest.raises(httpx2.RemoteProtocolError, match="incomplete chunked read"):
        await trio.to_thread.run_sync(stream)


@pytest.mark.req("SIM-FAULT-MALFORMED")
async def test_malformed_json_and_sse(http: httpx.AsyncClient) -> None:
    response = await http.post(CHAT, json=_chat("[[sim:malformed]]"), headers=AUTH)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()

    stream = await http.post(CHAT, json=_chat("[[sim:malformed]]", stream=True), headers=AUTH)
    data = [line[6:] for line in stream.text.splitlines() if line.startswith("data: ")]
    broken = []
    for payload in data[:-1]:
        try:
            json.loads(payload)
        except json.JSONDecodeError:
            broken.append(payload)
    assert len(broken) == 1 and data[-1] == "[DONE]"


@pytest.mark.req("SIM-FAULT-IGNORE-MAX")
async def test_ignore_max_tokens_overshoots_the_limit(openai_client: openai.OpenAI) -> None:
    def call() -> Any:
        return openai_client.chat.completions.create(
            **_chat("[[sim:ignore_max_tokens,tokens=30]]"), max_tokens=5
        )

    completion = await trio.to_thread.run_sync(call)
    assert completion.usage.completion_tokens == 30
    assert completion.choices[0].finish_reason == "stop"


@pytest.mark.req("SIM-TIMING")
async def test_ttft_and_chunk_delay(http: httpx.AsyncClient) -> None:
    headers = {**AUTH, "x-sim-ttft-ms": "150", "x-sim-chunk-delay-ms": "20", "x-sim-tokens": "14"}
    started = trio.current_time()
    arrivals: list[float] = []
    async with http.stream("POST", CHAT, json=_chat(stream=True), headers=headers) as response:
        first_byte = trio.current_time() - started
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                arrivals.append(trio.current_time())
    assert first_byte >= 0.15
    assert len(arrivals) >= 6
    # 20 ms between events, less a margin for the client's own scheduling
    assert arrivals[-1] - arrivals[0] >= 0.015 * (len(arrivals) - 1)


@pytest.mark.req("SIM-CONTROL")
async def test_bad_controls_are_400_naming_the_key(http: httpx.AsyncClient) -> None:
    unknown = await http.post(CHAT, json=_chat("[[sim:fault=explode]]"), headers=AUTH)
    typo = await http.post(CHAT, json=_chat(), headers={**AUTH, "x-sim-tokenz": "3"})
    negative = await http.post(CHAT, json=_chat("[[sim:tokens=-1]]"), headers=AUTH)
    assert unknown.status_code == typo.status_code == negative.status_code == 400
    assert "explode" in unknown.json()["error"]["message"]
    assert "'tokenz'" in typo.json()["error"]["message"]
    assert "tokens" in negative.json()["error"]["message"]
