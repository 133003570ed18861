"""End to end over real HTTP: the chat service against the provider simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import openai.types.chat as oa
import pytest
import trio

from gateway.catalog import load_catalog
from gateway.chat import ChatService, MemorySpendGuard, build_chat_service
from gateway.core import cost_micro_usd
from gateway.openai_wire import parse_chat_request
from gateway.providers import create_upstream_transport
from gateway.settings import settings_from_mapping
from gateway.simulator import SimulatorConfig, serve_simulator
from gateway.tokenizer import count_prompt_tokens

MESSAGES = [
    {"role": "system", "content": "Answer briefly."},
    {"role": "user", "content": "Name three colours."},
]
FAMILIES = [
    ("moonshotai/kimi-k2.5", "moonshot", "openai"),
    ("anthropic/claude-sonnet-4", "anthropic", "anthropic"),
    ("google/gemini-2.5-flash", "google", "google"),
]


class Anyone:
    identity = "solana:test:e2e"

    def check_model(self, model_id: str) -> None:
        return None


@pytest.fixture
async def simulator(nursery: trio.Nursery) -> AsyncIterator[str]:
    url: str = await nursery.start(serve_simulator, SimulatorConfig())
    yield url


@pytest.fixture
async def control(simulator: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client for the simulator's control plane."""
    async with httpx.AsyncClient(base_url=simulator) as client:
        yield client


@pytest.fixture
async def transport(tmp_path: Path) -> AsyncIterator[httpx.AsyncBaseTransport]:
    """The real upstream connection pool."""
    settings = settings_from_mapping({}, tmp_path, environ={})
    async with create_upstream_transport(settings) as pool:
        yield pool


def chat_service(
    tmp_path: Path, transport: httpx.AsyncBaseTransport, simulator: str, spend: MemorySpendGuard
) -> ChatService:
    # No keys at all: in the default "auto" mode every provider is served by the simulator.
    settings = settings_from_mapping({}, tmp_path, environ={})
    return build_chat_service(
        settings, load_catalog(), transport=transport, spend=spend, simulator_url=simulator
    )


def request(model: str, provider: dict[str, Any], **extra: Any) -> Any:
    return parse_chat_request(
        {"model": model, "messages": MESSAGES, "provider": provider, "max_tokens": 24, **extra}
    )


@pytest.mark.req("CHAT-3")
@pytest.mark.parametrize(("model", "provider", "family"), FAMILIES)
@pytest.mark.req("CHAT-2")
async def test_each_wire_family_answers_offline_with_honest_usage(
    tmp_path: Path,
    transport: httpx.AsyncBaseTransport,
    simulator: str,
    model: str,
    provider: str,
    family: str,
) -> None:
    spend = MemorySpendGuard()
    svc = chat_service(tmp_path, transport, simulator, spend)
    body = await svc.complete(Anyone(), request(model, {"only": [provider]}), request_id="r1")
    oa.ChatCompletion.model_validate(body)
    assert body["provider"] == f"{provider} (simulated)" and body["simulated"] is True
    assert body["choices"][0]["message"]["content"].startswith("[simulated")
    prompt = count_prompt_tokens(MESSAGES, family)
    assert body["usage"]["prompt_tokens"] == prompt
    offer = svc.router.resolve(model).offer(provider)
    assert offer is not None
    tokens = spend.records[-1].tokens
    assert body["usage"]["cost_micro_usd"] == cost_micro_usd(offer.prices, tokens)

    stream = await svc.stream(
        Anyone(), request(model, {"only": [provider]}, stream=True), request_id="r2"
    )
    try:
        chunks = [chunk async for chunk in stream]
    finally:
        await stream.aclose()
    for chunk in chunks:
        oa.ChatCompletionChunk.model_validate(chunk)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text.startswith("[simulated")
    assert chunks[-1]["usage"]["prompt_tokens"] == prompt
    assert chunks[-1]["usage"]["cost_micro_usd"] == spend.records[-1].cost_micro_usd > 0


@pytest.mark.req("ROUTE-5")
async def test_a_queued_fault_makes_the_gateway_fail_over(
    tmp_path: Path, transport: httpx.AsyncBaseTransport, control: httpx.AsyncClient, simulator: str
) -> None:
    spend = MemorySpendGuard()
    svc = chat_service(tmp_path, transport, simulator, spend)
    await control.post("/_sim/faults", json={"provider": "moonshot", "kind": "503", "count": 1})
    body = await svc.complete(
        Anyone(),
        request("moonshotai:kimi-k2.5", {"order": ["moonshot", "openrouter"]}),
        request_id="r",
    )
    assert body["provider"] == "openrouter (simulated)"
    stats = (await control.get("/_sim/stats")).json()
    assert stats["requests"]["moonshot"] == {"chat_completions": 1}
    assert spend.records[-1].attempts == ("moonshot:status", "openrouter:ok")


@pytest.mark.req("CHAT-6")
async def test_a_stream_cut_after_its_first_byte_ends_with_an_error_chunk(
    tmp_path: Path, transport: httpx.AsyncBaseTransport, control: httpx.AsyncClient, simulator: str
) -> None:
    spend = MemorySpendGuard()
    svc = chat_service(tmp_path, transport, simulator, spend)
    await control.post("/_sim/faults", json={"provider": "anthropic", "kind": "cut", "count": 1})
    stream = await svc.stream(
        Anyone(),
        request(
            "anthropic/claude-sonnet-4",
            {"order": ["anthropic", "openrouter"]},
            stream=True,
            max_tokens=64,
        ),
        request_id="r",
    )
    try:
        chunks = [chunk async for chunk in stream]
    finally:
        await stream.aclose()
    assert chunks[-1]["choices"][0]["finish_reason"] == "error"
    assert chunks[-1]["provider"] == "anthropic (simulated)"
    stats = (await control.get("/_sim/stats")).json()
    assert "openrouter" not in stats["requests"]  # never retried after the first byte
    assert spend.records[-1].outcome == "upstream_error"


@pytest.mark.req("CHAT-6")
async def test_an_upstream_ignoring_the_limit_is_cut_at_the_reservation(
    tmp_path: Path, transport: httpx.AsyncBaseTransport, control: httpx.AsyncClient, simulator: str
) -> None:
    spend = MemorySpendGuard(budget=300)
    svc = chat_service(tmp_path, transport, simulator, spend)
    await control.post(
        "/_sim/faults",
        json={"provider": "moonshot", "kind": "ignore_max_tokens", "count": 1},
    )
    body = {
        "model": "moonshotai/kimi-k2.5",
        "provider": {"only": ["moonshot"]},
        "stream": True,
        "messages": [{"role": "user", "content": "Go on. [[sim:tokens=2000]]"}],
    }
    stream = await svc.stream(Anyone(), parse_chat_request(body), request_id="r")
    try:
        chunks = [chunk async for chunk in stream]
    finally:
        await stream.aclose()
    last = chunks[-1]
    assert last["choices"][0]["finish_reason"] == "length"
    assert last["error"]["code"] == "reservation_exhausted"
    assert spend.spent == last["usage"]["cost_micro_usd"] <= 300
    assert spend.records[-1].outcome == "length_cut"


PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJ"
    "RU5ErkJggg=="
)
TOOL_TURNS = [
    {"role": "system", "content": "Use tools."},
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "Weather where this was taken?"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
        ],
    },
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ],
    },
    # Compact JSON: Gemini carries tool results as objects, so spacing is not preserved.
    {"role": "tool", "tool_call_id": "call_1", "content": '{"temp_c":18}'},
    {"role": "user", "content": "Now Rome, please."},
]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]


@pytest.mark.req("CHAT-2")
@pytest.mark.parametrize(("model", "provider", "family"), FAMILIES)
@pytest.mark.parametrize("stream", [False, True])
async def test_a_tool_conversation_with_an_image_crosses_every_family_intact(
    tmp_path: Path,
    transport: httpx.AsyncBaseTransport,
    simulator: str,
    model: str,
    provider: str,
    family: str,
    stream: bool,
) -> None:
    spend = MemorySpendGuard()
    svc = chat_service(tmp_path, transport, simulator, spend)
    body = parse_chat_request(
        {
            "model": model,
            "provider": {"only": [provider]},
            "messages": TOOL_TURNS,
            "tools": TOOLS,
            "tool_choice": "required",
            "max_tokens": 64,
            "stream": stream,
        }
    )
    if stream:
        chunks = await svc.stream(Anyone(), body, request_id="r")
        try:
            received = [chunk async for chunk in chunks]
        finally:
            await chunks.aclose()
        finish = received[-1]["choices"][0]["finish_reason"]
        calls = [
            d["tool_calls"][0]
            for c in received
            if c.get("choices")
            for d in [c["choices"][0]["delta"]]
            if d.get("tool_calls")
        ]
        name = calls[0]["function"]["name"]
        usage = received[-1]["usage"]
    else:
        answer = await svc.complete(Anyone(), body, request_id="r")
        finish = answer["choices"][0]["finish_reason"]
        name = answer["choices"][0]["message"]["tool_calls"][0]["function"]["name"]
        usage = answer["usage"]
    assert finish == "tool_calls" and name == "get_weather"
    # The simulator counts what it received; equal counts mean nothing was lost in translation.
    assert usage["prompt_tokens"] == count_prompt_tokens(TOOL_TURNS, family, TOOLS)
