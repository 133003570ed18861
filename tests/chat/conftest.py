"""Fixtures of the chat tests: a chat service over a scripted mock upstream (per provider,
what it answers, in order), as a ``kit`` fixture so the tests run in any pytest import mode."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import trio

from gateway.chat import ChatService, MemorySpendGuard, build_chat_service
from gateway.core import Catalog, ModelEntry, Offer, Prices, ProviderEntry, usd
from gateway.errors import Forbidden
from gateway.quotes import MemoryQuoteStore, QuoteStore
from gateway.settings import settings_from_mapping

PROVIDERS = [
    ProviderEntry("cheap", "Cheap", "openai", "https://cheap.test/v1", "CHEAP_API_KEY"),
    ProviderEntry("dear", "Dear", "openai", "https://dear.test/v1", "DEAR_API_KEY"),
    ProviderEntry("claude", "Claude", "anthropic", "https://claude.test/v1", "CLAUDE_API_KEY"),
]
KEYS = {"CHEAP_API_KEY": "sk-cheap", "DEAR_API_KEY": "sk-dear", "CLAUDE_API_KEY": "sk-claude"}
CHEAP = Prices(input=usd(1), output=usd(4))
DEAR = Prices(input=usd(3), output=usd(12))
CLAUDE = Prices(input=usd(2), output=usd(8), cache_read=usd(0.2), cache_write=usd(2.5))


def catalog(scale: int = 1) -> Catalog:
    """``acme/chat-1`` on cheap, dear and claude (prices times ``scale``)."""

    def scaled(p: Prices) -> Prices:
        return Prices(p.input * scale, p.output * scale, p.cache_read, p.cache_write)

    chat = ModelEntry(
        "acme/chat-1",
        "Acme Chat 1",
        (
            Offer("cheap", "cheap-1", scaled(CHEAP)),
            Offer("dear", "dear-1", scaled(DEAR)),
            Offer("claude", "claude-1", scaled(CLAUDE)),
        ),
        max_output_tokens=8000,
    )
    return Catalog.build([chat], PROVIDERS)


@dataclass(frozen=True)
class Caller:
    """A principal allowed every model unless ``allowed`` says otherwise."""

    identity: str = "solana:test:alice"
    allowed: frozenset[str] | None = None

    def check_model(self, model_id: str) -> None:
        if self.allowed is not None and model_id not in self.allowed:
            raise Forbidden(f"this token may not use {model_id}")


Action = Callable[[httpx.Request], Any]


def completion(
    text: str = "Hello there!", prompt: int = 9, completion: int = 3, finish: str = "stop"
) -> Action:
    body = {
        "id": "chatcmpl-up",
        "object": "chat.completion",
        "created": 1,
        "model": "x",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": finish,
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }
    return lambda request: httpx.Response(200, json=body)


def status(code: int, message: str = "upstream says no") -> Action:
    return lambda request: httpx.Response(code, json={"error": {"message": message}})


def chunks(
    pieces: list[str],
    usage: tuple[int, int] | None = (9, 3),
    finish: str = "stop",
    fail_after: int | None = None,
) -> Action:
    """An OpenAI stream of ``pieces``; optionally an error event after ``fail_after`` pieces."""

    def event(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        chunk = {
            "id": "chatcmpl-up",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "x",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        }
        return b"data: " + orjson.dumps(chunk) + b"\n\n"

    async def body() -> AsyncIterator[bytes]:
        yield event({"role": "assistant", "content": ""})
        for i, piece in enumerate(pieces):
            if fail_after is not None and i == fail_after:
                yield b'data: {"error": {"message": "model crashed"}}\n\n'
                return
            yield event({"content": piece})
            await trio.lowlevel.checkpoint()
        yield event({}, finish)
        if usage is not None:
            data = {
                "id": "chatcmpl-up",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": "x",
                "choices": [],
                "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1]},
            }
            yield b"data: " + orjson.dumps(data) + b"\n\n"
        yield b"data: [DONE]\n\n"

    return lambda request: httpx.Response(200, content=body())


def hang() -> Action:
    async def forever(request: httpx.Request) -> httpx.Response:
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    return forever


@dataclass
class Script:
    """What each provider answers, request by request (the last action repeats)."""

    actions: dict[str, list[Action]] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def on(self, provider: str, *actions: Action) -> Script:
        self.actions[provider] = list(actions)
        return self

    async def handle(self, request: httpx.Request) -> httpx.Response:
        provider = request.url.host.removesuffix(".test")
        self.requests.append((provider, orjson.loads(request.content)))
        queue = self.actions.get(provider) or [status(500, "not scripted")]
        action = queue.pop(0) if len(queue) > 1 else queue[0]
        result = action(request)
        if isinstance(result, httpx.Response):
            return result
        response: httpx.Response = await result
        return response

    def providers(self) -> list[str]:
        return [p for p, _ in self.requests]

    def body(self, index: int = -1) -> dict[str, Any]:
        return self.requests[index][1]


class Kit:
    """Everything the chat tests build with."""

    CHEAP = CHEAP
    DEAR = DEAR
    CLAUDE = CLAUDE
    Caller = Caller
    Script = Script
    completion = staticmethod(completion)
    status = staticmethod(status)
    chunks = staticmethod(chunks)
    hang = staticmethod(hang)
    catalog = staticmethod(catalog)

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path

    def service(
        self,
        script: Script,
        *,
        spend: MemorySpendGuard | None = None,
        scale: int = 1,
        quote_store: QuoteStore | None = None,
        **sections: Any,
    ) -> tuple[ChatService, MemorySpendGuard, httpx.MockTransport]:
        """A chat service whose upstreams are ``script``; close the transport when done."""
        settings = settings_from_mapping(
            {"simulator": {"mode": "off"}, **sections}, self.tmp_path, environ=KEYS
        )
        transport = httpx.MockTransport(script.handle)
        guard = spend if spend is not None else MemorySpendGuard()
        chat = build_chat_service(
            settings,
            catalog(scale),
            transport=transport,
            spend=guard,
            quote_store=quote_store or MemoryQuoteStore(),
        )
        return chat, guard, transport


@pytest.fixture
def kit(tmp_path: Path) -> Kit:
    """The chat test kit."""
    return Kit(tmp_path)
