"""What a hosted agent spends is the caller's: its turn price, and its model and tool calls
through the gateway with a token of the caller, all stopped at the caller's cap."""

from __future__ import annotations

import json
import os
from typing import Any

import httpx
import pytest
import trio

from gateway.identity import Verifier, bearer_token
from tests.acp.acp_raw import RawAcp, allow, chunks
from tests.acp.acp_stack import (
    FAKE_TURN_PRICE,
    MODEL_RESERVE,
    TOOL_PRICE,
    TURN_PRICE,
    StartStack,
)


def _prompt(session_id: str, text: str) -> dict[str, Any]:
    return {"sessionId": session_id, "prompt": [{"type": "text", "text": text}]}


@pytest.mark.req("ACP-CAP")
@pytest.mark.req("ACP-METER")
async def test_a_cap_reached_mid_turn_ends_the_turn_with_the_reason(stack: StartStack) -> None:
    # Room for the turn and one model call: the tool call fits, the second model call does not.
    cap = TURN_PRICE + MODEL_RESERVE
    gw = await stack(cap=cap, hosted=("assistant",))
    async with httpx.AsyncClient(timeout=30) as http, trio.open_nursery() as nursery:
        client = RawAcp(http, gw.endpoint("assistant"), gw.token)
        with trio.fail_after(90):
            await client.initialize()
            await nursery.start(client.listen)
            new = await client.call(1, "session/new", {"cwd": "/", "mcpServers": []})
            session_id = new["result"]["sessionId"]
            done = await client.call(
                2, "session/prompt", _prompt(session_id, "look it up"), on_request=allow()
            )
        result = done["result"]
        assert result["stopReason"] == "max_tokens"
        assert "spending cap reached" in result["_meta"]["bitrouter/refusal"]
        assert chunks(client.seen)[-1].startswith("\n\n[bitrouter] spending cap reached")
        # Charged: the first model call, the tool call and the turn; never past the cap.
        kinds = [line["kind"] for line in gw.spend.usage]
        assert kinds == ["model", "tool", "agent"]
        spent = gw.spend.spent[gw.identity]
        assert spent == sum(line["cost_micro_usd"] for line in gw.spend.usage) <= cap
        assert gw.spend.usage[1]["cost_micro_usd"] == TOOL_PRICE
        assert gw.spend.usage[2]["stop_reason"] == "max_tokens"
        assert gw.spend.open_holds(gw.identity) == 0
        # The refused call never reached the provider.
        stats = (await http.get(gw.sim_url + "/_sim/stats")).json()
        assert stats["requests"]["openai"]["chat_completions"] == 1
        nursery.cancel_scope.cancel()


@pytest.mark.req("ACP-CAP")
async def test_a_turn_the_cap_cannot_pay_is_refused_before_the_agent_runs(
    stack: StartStack,
) -> None:
    gw = await stack(cap=FAKE_TURN_PRICE - 1, hosted=("fake",))
    async with httpx.AsyncClient(timeout=30) as http, trio.open_nursery() as nursery:
        client = RawAcp(http, gw.endpoint("fake"), gw.token)
        with trio.fail_after(30):
            await client.initialize()
            await nursery.start(client.listen)
            new = await client.call(1, "session/new", {"cwd": "/", "mcpServers": []})
            session_id = new["result"]["sessionId"]
            refused = await client.call(2, "session/prompt", _prompt(session_id, "hi"))
        error = refused["error"]
        assert error["code"] == -32002
        assert error["data"] == {
            "type": "insufficient_quota",
            "code": "spending_cap_exceeded",
            "status": 402,
        }
        assert "spending cap reached" in error["message"]
        assert chunks(client.seen) == []  # the agent never saw the prompt
        assert gw.spend.usage == [] and gw.spend.open_holds(gw.identity) == 0
        nursery.cancel_scope.cancel()


@pytest.mark.req("ACP-ENV")
async def test_the_agent_is_pointed_at_the_gateway_as_the_caller(
    stack: StartStack, verifier: Verifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "the-gateways-own-key")
    gw = await stack(hosted=("fake",))
    async with httpx.AsyncClient(timeout=30) as http, trio.open_nursery() as nursery:
        client = RawAcp(http, gw.endpoint("fake"), gw.token)
        with trio.fail_after(30):
            await client.initialize()
            await nursery.start(client.listen)
            own_server = {"name": "mine", "command": "rm", "args": ["-rf", "/"], "env": []}
            new = await client.call(1, "session/new", {"cwd": "/", "mcpServers": [own_server]})
            session_id = new["result"]["sessionId"]
            await client.call(2, "session/prompt", _prompt(session_id, "env"))
        report = json.loads(chunks(client.seen)[0])
        env, new_params = report["env"], report["new"]
        (token,) = gw.issued
        assert token != gw.token  # a token of its own, not the caller's
        assert env["OPENAI_BASE_URL"] == gw.url + "/v1"
        assert env["OPENAI_API_KEY"] == env["BITROUTER_TOKEN"] == token
        assert env["BITROUTER_URL"] == gw.url
        assert env["SECRET"] == "operator-value"  # the operator's env for the agent
        assert "ANTHROPIC_API_KEY" not in env or env["ANTHROPIC_API_KEY"] is None
        principal = await verifier.verify(bearer_token(f"Bearer {token}"), scope="api")
        assert principal.identity == gw.identity
        # The gateway's /mcp, as the caller; the client's own servers are not run.
        assert new_params["mcpServers"] == [
            {
                "type": "http",
                "name": "bitrouter",
                "url": gw.url + "/mcp",
                "headers": [{"name": "Authorization", "value": f"Bearer {token}"}],
            }
        ]
        # cwd policy "temp": a fresh folder of its own, removed with the session.
        assert report["cwd"] == new_params["cwd"] != "/"
        assert os.path.isdir(report["cwd"])
        await client.post(
            {
                "jsonrpc": "2.0",
                "id": 3,
                "method": "session/close",
                "params": {"sessionId": session_id},
            }
        )
        with trio.fail_after(10):
            await gw.acp.wait_sessions(lambda sessions: not sessions)
        assert not os.path.exists(report["cwd"])
        nursery.cancel_scope.cancel()
