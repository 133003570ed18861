"""A hosted ACP agent inside the real gateway: the Python assistant's turn, its model calls
through this gateway, charged to the caller on the ledger."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from tests.acp.acp_raw import RawAcp, allow, chunks
from tests.conftest import make_settings

TURN_PRICE = 2500


@pytest.fixture
async def gateway_with_agent(home: Path, nursery: trio.Nursery, token: str) -> AsyncIterator[str]:
    from gateway.http import serve

    settings = make_settings(
        home,
        acp_agents=[
            {
                "name": "assistant",
                "command": sys.executable,
                "args": ["-m", "agents.assistant"],
                "env": {"BITROUTER_AGENT_MODEL": "moonshotai/kimi-k2.5"},
                "price_per_turn": TURN_PRICE,
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


async def test_an_agent_turn_is_metered_to_the_caller(gateway_with_agent: str, token: str) -> None:
    url = gateway_with_agent
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=30) as http, trio.open_nursery() as nursery:
        listed = (await http.get(f"{url}/v1/agents", headers=headers)).json()
        assert [a["id"] for a in listed["data"]] == ["assistant"]
        client = RawAcp(http, f"{url}/acp/assistant", token)
        with trio.fail_after(90):
            assert (await client.initialize()).status_code == 200
            await nursery.start(client.listen)
            new = await client.call(1, "session/new", {"cwd": "/", "mcpServers": []})
            session = new["result"]["sessionId"]
            prompt: dict[str, Any] = {
                "sessionId": session,
                "prompt": [{"type": "text", "text": "Say hello"}],
            }
            done = await client.call(2, "session/prompt", prompt, on_request=allow())
        assert done["result"]["stopReason"] == "end_turn"
        assert "".join(chunks(client.seen)).startswith("[simulated ")
        await http.delete(client.url, headers=client.headers())
        nursery.cancel_scope.cancel()
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=10) as c:
        usage = (await c.get("/v1/usage")).json()["data"]
    kinds = [(u["kind"], u["subject"]) for u in usage]
    assert ("agent", "assistant") in kinds
    assert ("model", "moonshotai/kimi-k2.5") in kinds
    turn = next(u for u in usage if u["kind"] == "agent")
    assert turn["cost_micro_usd"] == TURN_PRICE
