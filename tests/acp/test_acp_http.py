"""The HTTP transport with a client written from the spec (httpx POSTs, one SSE stream)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import trio

from tests.acp.acp_raw import Message, RawAcp, allow, chunks, updates
from tests.acp.acp_stack import TOOL_PRICE, TURN_PRICE, StartStack, alive


def _text(prompt: str, session_id: str) -> dict[str, Any]:
    return {"sessionId": session_id, "prompt": [{"type": "text", "text": prompt}]}


@pytest.mark.req("ACP-HTTP")
@pytest.mark.req("ACP-RELAY")
@pytest.mark.req("ACP-METER")
@pytest.mark.req("ACP-CANCEL")
async def test_a_turn_with_the_assistant_and_then_a_cancelled_one(stack: StartStack) -> None:
    gw = await stack(hosted=("assistant",))
    async with httpx.AsyncClient(timeout=30) as http, trio.open_nursery() as nursery:
        client = RawAcp(http, gw.endpoint("assistant"), gw.token)
        with trio.fail_after(90):
            init = await client.initialize()
            assert init.status_code == 200 and client.connection_id
            result = init.json()["result"]
            assert result["agentInfo"]["name"] == "bitrouter-assistant"
            # What the gateway cannot relay is not advertised.
            assert result["agentCapabilities"]["loadSession"] is False
            assert result["agentCapabilities"]["mcpCapabilities"] == {"http": False, "sse": False}
            assert result["_meta"]["bitrouter/price_per_turn_micro_usd"] == TURN_PRICE
            await nursery.start(client.listen)
            new = await client.call(1, "session/new", {"cwd": "/", "mcpServers": []})
            session_id = new["result"]["sessionId"]
            asked: list[Message] = []

            async def answer(message: Message) -> Any:
                asked.append(message)
                return await allow()(message)

            done = await client.call(
                2, "session/prompt", _text("look it up", session_id), on_request=answer
            )
        assert done["result"]["stopReason"] == "end_turn"
        assert done["result"]["_meta"]["bitrouter/cost_micro_usd"] == TURN_PRICE
        # The permission request came to this client, for this session, before the tool ran.
        assert [m["params"]["sessionId"] for m in asked] == [session_id]
        assert asked[0]["params"]["toolCall"]["title"] == "kb__lookup"
        order = [
            m["params"]["update"]["sessionUpdate"]
            for m in client.seen
            if "params" in m and m.get("method") == "session/update"
        ]
        assert order[0] == "tool_call" and order[1:3] == ["tool_call_update"] * 2
        completed = updates(client.seen, "tool_call_update")[-1]
        assert completed["status"] == "completed"
        assert "kb says: " in completed["rawOutput"]
        # The chunks arrived in order: they spell the model's reply quoting the tool result.
        reply = "".join(chunks(client.seen))
        assert reply.startswith("[simulated ")
        assert f'tool result: "{completed["rawOutput"]}"' in reply
        # Model calls, the tool call and the turn: all charged to the caller.
        kinds = [(line["kind"], line["identity"]) for line in gw.spend.usage]
        assert kinds == [
            ("model", gw.identity),
            ("tool", gw.identity),
            ("model", gw.identity),
            ("agent", gw.identity),
        ]
        assert [line["cost_micro_usd"] for line in gw.spend.usage][1::2] == [TOOL_PRICE, TURN_PRICE]
        assert gw.spend.usage[-1]["stop_reason"] == "end_turn"
        assert gw.spend.open_holds(gw.identity) == 0

        # A second turn, streamed slowly, cancelled after its first words.
        client.seen.clear()
        slow = "[[sim:chunk_delay_ms=250,tokens=60]] tell me more"
        posted = await client.post(
            {
                "jsonrpc": "2.0",
                "id": 3,
                "method": "session/prompt",
                "params": _text(slow, session_id),
            }
        )
        assert posted.status_code == 202
        with trio.fail_after(60):
            while len(chunks(client.seen)) < 3:
                message = await client.next_update()
                if message.get("method") == "session/request_permission":
                    await client.post(
                        {"jsonrpc": "2.0", "id": message["id"], "result": await allow()(message)}
                    )
            cancel = {
                "jsonrpc": "2.0",
                "method": "session/cancel",
                "params": {"sessionId": session_id},
            }
            assert (await client.post(cancel, session_id)).status_code == 202
            done = await client.until_response(3)
        assert done["result"]["stopReason"] == "cancelled"
        assert done["result"]["_meta"]["bitrouter/cost_micro_usd"] == 0
        assert len(chunks(client.seen)) < 20  # the 60-word reply was cut short
        assert [line["kind"] for line in gw.spend.usage].count("agent") == 1  # not charged
        assert gw.spend.open_holds(gw.identity) == 0
        pid = gw.acp.sessions()[0]["pid"]
        response = await http.delete(client.url, headers=client.headers())
        assert response.status_code == 202
        with trio.fail_after(10):
            await client.stream_ended.wait()
        assert gw.acp.sessions() == []
        assert not alive(pid)
        nursery.cancel_scope.cancel()


@pytest.mark.req("ACP-AUTH")
async def test_refusals_come_before_any_acp_machinery(stack: StartStack) -> None:
    gw = await stack()
    url = gw.endpoint("fake")
    initialize = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {"protocolVersion": 1},
    }
    async with httpx.AsyncClient(timeout=30) as http:
        for headers in ({}, {"authorization": "Bearer not-a-token"}):
            for method in ("POST", "GET", "DELETE"):
                response = await http.request(method, url, json=initialize, headers=headers)
                assert response.status_code == 401
                assert response.headers["www-authenticate"].startswith("Bearer")
                error = response.json()["error"]
                assert error["type"] == "authentication_error" and error["message"]
        assert gw.acp.list_agents()[1]["active_sessions"] == 0
        auth = {"authorization": f"Bearer {gw.token}"}
        wrong_type = await http.post(
            url, content=b"{}", headers={**auth, "content-type": "text/plain"}
        )
        assert wrong_type.status_code == 415
        batch = await http.post(url, json=[initialize], headers=auth)
        assert batch.status_code == 400 and "batch" in batch.json()["error"]["message"]
        unknown_agent = await http.post(gw.url + "/acp/nobody", json=initialize, headers=auth)
        assert unknown_agent.status_code == 404
        assert "hosted agents: assistant, fake" in unknown_agent.json()["error"]["message"]
        several = await http.post(gw.url + "/acp", json=initialize, headers=auth)
        assert several.status_code == 404 and "name the agent" in several.json()["error"]["message"]
        no_connection = await http.post(url, json={"jsonrpc": "2.0", "method": "x"}, headers=auth)
        assert no_connection.status_code == 400
        assert "Acp-Connection-Id" in no_connection.json()["error"]["message"]
        stale = await http.get(url, headers={**auth, "acp-connection-id": "feedface"})
        assert stale.status_code == 404
        bad = {**initialize, "params": {"clientCapabilities": {}}}
        no_version = await http.post(url, json=bad, headers=auth)
        assert no_version.status_code == 400
        assert (
            no_version.json()["error"]["message"] == "initialize: protocolVersion: Field required"
        )
        client = RawAcp(http, url, gw.token)
        assert (await client.initialize()).status_code == 200
        note = {"jsonrpc": "2.0", "method": "session/cancel", "params": {"sessionId": "nope"}}
        unknown_session = await client.post(note, session_id="nope")
        assert unknown_session.status_code == 404
        async with trio.open_nursery() as nursery:
            await nursery.start(client.listen)
            with trio.fail_after(10):
                no_cwd = await client.call(1, "session/new", {"mcpServers": []})
                unknown = await client.call(
                    2, "session/prompt", {"sessionId": "nope", "prompt": []}
                )
                foreign = await client.call(3, "providers/list", {})
            nursery.cancel_scope.cancel()
        assert no_cwd["error"]["code"] == -32602
        assert no_cwd["error"]["message"] == "session/new: cwd: Field required"
        assert unknown["error"]["message"] == "unknown session 'nope'"
        assert foreign["error"]["code"] == -32601


@pytest.mark.req("ACP-LIMITS")
async def test_an_agent_runs_at_most_max_sessions(stack: StartStack) -> None:
    gw = await stack(hosted=("fake",), agents={"fake": {"max_sessions": 1}})
    async with httpx.AsyncClient(timeout=30) as http, trio.open_nursery() as nursery:
        client = RawAcp(http, gw.endpoint("fake"), gw.token)
        with trio.fail_after(30):
            await client.initialize()
            await nursery.start(client.listen)
            first = await client.call(1, "session/new", {"cwd": "/", "mcpServers": []})
            second = await client.call(2, "session/new", {"cwd": "/", "mcpServers": []})
        assert "sessionId" in first["result"]
        assert second["error"]["data"]["code"] == "agent_busy"
        assert "already runs its 1 sessions" in second["error"]["message"]
        assert gw.acp.list_agents()[0]["active_sessions"] == 1
        nursery.cancel_scope.cancel()


@pytest.mark.req("ACP-LIST")
async def test_an_agent_that_cannot_start_is_a_clear_error(stack: StartStack) -> None:
    gw = await stack(hosted=(), agents={"ghost": {"command": "/nonexistent/agent"}})
    async with httpx.AsyncClient(timeout=30) as http:
        client = RawAcp(http, gw.endpoint("ghost"), gw.token)
        with trio.fail_after(30):
            response = await client.initialize()
    assert response.status_code == 503
    message = response.json()["error"]["message"]
    assert message.startswith("the agent 'ghost' could not be started: ")
    (listed,) = gw.acp.list_agents()
    assert listed["status"] == "error" and listed["error"] == message
    assert listed["capabilities"] is None
