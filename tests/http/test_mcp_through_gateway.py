"""The MCP face inside the real gateway: an upstream stdio server and the gateway's own tools,
charged on the same ledger as model calls."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import httpx2
import pytest
import trio
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import make_settings

UPSTREAM = str(Path(__file__).parents[1] / "mcp" / "mcp_upstream_stdio.py")


@pytest.fixture
async def gateway_with_tools(home: Path, nursery: trio.Nursery, token: str) -> AsyncIterator[str]:
    from gateway.http import serve

    settings = make_settings(
        home,
        mcp_servers=[
            {
                "name": "files",
                "command": sys.executable,
                "args": [UPSTREAM],
                "prices": {"echo": 1500},
            }
        ],
    )
    urls = await nursery.start(
        lambda task_status: serve(
            settings, host="127.0.0.1", port=0, handle_signals=False, task_status=task_status
        )
    )
    yield urls[0]
    nursery.cancel_scope.cancel()


async def test_mcp_client_calls_upstream_and_gateway_tools_and_pays(
    gateway_with_tools: str, token: str
) -> None:
    url = gateway_with_tools
    headers = {"authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers) as http,
        Client(streamable_http_client(f"{url}/mcp", http_client=http)) as mcp,
    ):
        names = {t.name for t in (await mcp.list_tools()).tools}
        assert {"files__echo", "chat", "quote", "list_models", "balance"} <= names
        echoed = await mcp.call_tool("files__echo", {"text": "hello"})
        assert "hello" in echoed.content[0].text  # type: ignore[union-attr]
        chat = await mcp.call_tool(
            "chat",
            {
                "model": "moonshotai:kimi-k2.5",
                "max_tokens": 20,
                "messages": [{"role": "user", "content": "Hi from MCP"}],
            },
        )
        reply = chat.structured_content or {}
        assert "[simulated" in str(reply)
    async with httpx.AsyncClient(base_url=url, headers=headers) as c:
        usage = (await c.get("/v1/usage")).json()["data"]
        tools = (await c.get("/v1/tools")).json()
        unauthorized = await c.post("/mcp", headers={"authorization": ""}, json={})
    kinds = sorted((u["kind"], u["subject"]) for u in usage)
    assert ("tool", "files__echo") in kinds and ("model", "moonshotai/kimi-k2.5") in kinds
    echo_row = next(u for u in usage if u["subject"] == "files__echo")
    assert echo_row["cost_micro_usd"] == 1500
    assert any(t["name"] == "files__echo" and t["price"] for t in tools["data"])
    assert unauthorized.status_code == 401
