"""Helpers of the MCP face tests (also used by the face server that runs in a subprocess)."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx2
import pytest
import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from gateway.identity import Principal
from gateway.mcp import McpFace, MemorySpendGuard
from gateway.settings import Settings, settings_from_mapping

# The SDK client's handshake-era SSE reader leaves httpx2's async generators to the garbage
# collector under trio (a client-side quirk, not the gateway's); tests that use that client mode
# ignore exactly those warnings.
SDK_LEGACY_SSE_LEAK = pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <async_generator object "
    "(PoolByteStream.__aiter__|Response.aiter_|EventSource.__aiter__)"
    ":pytest.PytestUnraisableExceptionWarning"
)
UPSTREAM_STDIO = str(Path(__file__).with_name("mcp_upstream_stdio.py"))
CALC_SECRET = "calc-upstream-secret"


class FakeGatewayTools:
    """The router's side of the gateway tools: canned answers, and what it was asked."""

    def __init__(self) -> None:
        self.chats: list[tuple[str, dict[str, Any]]] = []

    async def chat(self, principal: Principal, request: dict[str, Any]) -> dict[str, Any]:
        self.chats.append((principal.identity, request))
        said = request["messages"][-1]["content"]
        return {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "model": request["model"],
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": f"you said: {said}"},
                }
            ],
            "usage": {"prompt_tokens": 3, "completion_tokens": 4, "cost_micro_usd": 42},
        }

    async def quote(self, principal: Principal, request: dict[str, Any]) -> dict[str, Any]:
        return {"id": "q_test", "model": request["model"], "max_cost_micro_usd": 1234}

    async def list_models(self) -> list[dict[str, Any]]:
        return [{"id": "openai/gpt-4o-mini"}]

    async def balance(self, principal: Principal) -> dict[str, Any]:
        # The process id tells which gateway process answered (the two-process test).
        return {
            "identity": principal.identity,
            "remaining_micro_usd": 5_000_000,
            "served_by": os.getpid(),
        }


async def serve_asgi(nursery: trio.Nursery, app: Any, port: int = 0) -> str:
    """Serve an ASGI app with hypercorn's trio worker on loopback; its base URL."""
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.graceful_timeout = 0.5
    urls: list[str] = await nursery.start(
        partial(serve, app, config, shutdown_trigger=trio.sleep_forever)
    )
    return urls[0]


def gateway_settings(
    home: Path,
    calc_url: str | None,
    *,
    files: dict[str, Any] | None = None,
    calc: dict[str, Any] | None = None,
    servers: tuple[str, ...] = ("files", "calc"),
    **sections: Any,
) -> Settings:
    """Settings with the two upstreams (``files`` over stdio, ``calc`` over HTTP); ``files``
    and ``calc`` override their fields, ``servers`` picks which are configured."""
    configured = {
        "files": {
            "name": "files",
            "command": sys.executable,
            "args": [UPSTREAM_STDIO],
            "env": {"UPSTREAM_BLOCK_FILE": str(home / "block")},
            "prices": {"echo": 100},
            "prices_per_kb": {"blob": 10},
            "default_price": 1,
            "reconnect_min_seconds": 0.05,
            "reconnect_max_seconds": 0.2,
            "timeout_seconds": 20,
            **(files or {}),
        },
        "calc": {
            "name": "calc",
            "url": calc_url,
            "headers": {"Authorization": "Bearer ${CALC_TOKEN}"},
            "prices": {"add": 7},
            "timeout_seconds": 20,
            **(calc or {}),
        },
    }
    return settings_from_mapping(
        {"mcp_servers": [configured[name] for name in servers], **sections},
        home,
        environ={"CALC_TOKEN": CALC_SECRET},
    )


@dataclass
class Gateway:
    """A running face: its /mcp URL, the face, the spending double and the tools double."""

    url: str
    face: McpFace
    spend: MemorySpendGuard
    tools: FakeGatewayTools


StartGateway = Callable[..., Awaitable[Gateway]]
Mint = Callable[..., str]


@asynccontextmanager
async def connect(
    url: str, token: str | None, *, mode: str = "auto", http: httpx2.AsyncClient | None = None
) -> AsyncIterator[Client]:
    """The official MCP client on ``url``, sending ``Authorization: Bearer <token>``."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    http = http if http is not None else httpx2.AsyncClient(headers=headers)
    async with http, Client(streamable_http_client(url, http_client=http), mode=mode) as session:
        yield session
