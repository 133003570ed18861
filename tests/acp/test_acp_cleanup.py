"""Nothing outlives what it belongs to: a crashed, hung or abandoned agent is stopped with its
process group, its turn's reservation is released, and the other sessions go on."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import trio

from tests.acp.acp_raw import RawAcp, chunks
from tests.acp.acp_stack import FAKE_TURN_PRICE, Stack, StartStack, alive, wait_gone


def _prompt(request_id: int, session_id: str, text: str) -> dict[str, Any]:
    params = {"sessionId": session_id, "prompt": [{"type": "text", "text": text}]}
    return {"jsonrpc": "2.0", "id": request_id, "method": "session/prompt", "params": params}


async def _connect(
    gw: Stack, http: httpx.AsyncClient, nursery: trio.Nursery, sessions: int = 1
) -> tuple[RawAcp, list[str]]:
    client = RawAcp(http, gw.endpoint("fake"), gw.token)
    assert (await client.initialize()).status_code == 200
    await nursery.start(client.listen)
    ids = []
    for n in range(sessions):
        new = await client.call(100 + n, "session/new", {"cwd": "/", "mcpServers": []})
        ids.append(new["result"]["sessionId"])
    return client, ids


async def _hang(client: RawAcp, session_id: str) -> int:
    """Start a turn that never ends; the pid of the child process the agent started."""
    assert (await client.post(_prompt(7, session_id, "hang"))).status_code == 202
    while not chunks(client.seen):
        await client.next_update()
    return int(chunks(client.seen)[0].split()[1])


@pytest.mark.req("ACP-CLEANUP")
async def test_a_crashed_agent_ends_its_turn_uncharged_and_others_go_on(stack: StartStack) -> None:
    gw = await stack(hosted=("fake",))
    async with httpx.AsyncClient(timeout=30) as http, trio.open_nursery() as nursery:
        with trio.fail_after(30):
            client, (crashing, healthy) = await _connect(gw, http, nursery, sessions=2)
            pids = {s["id"]: s["pid"] for s in gw.acp.sessions()}
            await client.post(_prompt(1, crashing, "crash"))
            crashed = await client.until_response(1)
            assert "exited with code 3" in crashed["error"]["message"]
            assert "not charged" in crashed["error"]["message"]
            await gw.acp.wait_sessions(lambda sessions: len(sessions) == 1)
            assert not alive(pids[crashing]) and alive(pids[healthy])
            fine = await client.call(2, "session/prompt", _prompt(2, healthy, "hi")["params"])
            assert fine["result"]["stopReason"] == "end_turn"
            again = await client.call(3, "session/prompt", _prompt(3, crashing, "hi")["params"])
        assert "unknown session" in again["error"]["message"]
        assert "exited with code 3" in again["error"]["message"]
        assert [line["cost_micro_usd"] for line in gw.spend.usage] == [FAKE_TURN_PRICE]
        assert gw.spend.usage[0]["session_id"] == healthy
        assert gw.spend.open_holds(gw.identity) == 0
        nursery.cancel_scope.cancel()


@pytest.mark.req("ACP-CLEANUP")
async def test_a_hung_agent_is_stopped_with_what_it_started(stack: StartStack) -> None:
    gw = await stack(hosted=("fake",), agents={"fake": {"idle_timeout_seconds": 1.0}})
    async with httpx.AsyncClient(timeout=30) as http, trio.open_nursery() as nursery:
        with trio.fail_after(30):
            client, (session_id,) = await _connect(gw, http, nursery)
            agent = gw.acp.sessions()[0]["pid"]
            child = await _hang(client, session_id)
            assert alive(agent) and alive(child)
            assert gw.spend.open_holds(gw.identity) == FAKE_TURN_PRICE
            stopped = await client.until_response(7)
        assert "stopped after 1 s without activity" in stopped["error"]["message"]
        await gw.acp.wait_sessions(lambda sessions: not sessions)
        assert not alive(agent)
        with trio.fail_after(5):
            await wait_gone(child)  # the agent's process group went with it
        assert gw.spend.open_holds(gw.identity) == 0 and gw.spend.usage == []
        nursery.cancel_scope.cancel()


@pytest.mark.req("ACP-CANCEL")
@pytest.mark.req("ACP-CLEANUP")
async def test_an_agent_that_ignores_cancel_is_stopped(stack: StartStack) -> None:
    gw = await stack(hosted=("fake",), agents={"fake": {"cancel_grace_seconds": 0.5}})
    async with httpx.AsyncClient(timeout=30) as http, trio.open_nursery() as nursery:
        with trio.fail_after(30):
            client, (session_id,) = await _connect(gw, http, nursery)
            agent = gw.acp.sessions()[0]["pid"]
            child = await _hang(client, session_id)
            cancel = {
                "jsonrpc": "2.0",
                "method": "session/cancel",
                "params": {"sessionId": session_id},
            }
            await client.post(cancel)
            done = await client.until_response(7)
            assert done["result"]["stopReason"] == "cancelled"
            await gw.acp.wait_sessions(lambda sessions: not sessions)
        assert not alive(agent)
        with trio.fail_after(5):
            await wait_gone(child)  # the agent's process group went with it
        assert gw.spend.open_holds(gw.identity) == 0 and gw.spend.usage == []
        nursery.cancel_scope.cancel()


@pytest.mark.req("ACP-CLEANUP")
async def test_a_client_that_disappears_is_cleaned_up(stack: StartStack) -> None:
    gw = await stack(hosted=("fake",), agents={"fake": {"disconnect_grace_seconds": 0.5}})
    async with httpx.AsyncClient(timeout=30) as http, trio.open_nursery() as nursery:
        with trio.fail_after(30):
            stays, (kept,) = await _connect(gw, http, nursery)
            async with httpx.AsyncClient(timeout=30) as other, trio.open_nursery() as gone:
                leaves, (left,) = await _connect(gw, other, gone)
                pid = next(s["pid"] for s in gw.acp.sessions() if s["id"] == left)
                child = await _hang(leaves, left)
                gone.cancel_scope.cancel()  # the stream drops; no DELETE ever comes
            await gw.acp.wait_sessions(lambda sessions: [s["id"] for s in sessions] == [kept])
            assert not alive(pid)
            await wait_gone(child)
            assert gw.spend.open_holds(gw.identity) == 0
            fine = await stays.call(1, "session/prompt", _prompt(1, kept, "hi")["params"])
        assert fine["result"]["stopReason"] == "end_turn"
        nursery.cancel_scope.cancel()


@pytest.mark.req("ACP-CLEANUP")
async def test_shutting_the_face_down_stops_every_agent(
    nursery: trio.Nursery, stack: StartStack
) -> None:
    gw = await stack(hosted=("fake",))
    async with httpx.AsyncClient(timeout=30) as http, trio.open_nursery() as clients:
        with trio.fail_after(30):
            client, (session_id,) = await _connect(gw, http, clients)
            agent = gw.acp.sessions()[0]["pid"]
            child = await _hang(client, session_id)
            nursery.cancel_scope.cancel()  # the whole gateway stops
            await client.stream_ended.wait()
        clients.cancel_scope.cancel()
    assert not alive(agent)
    with trio.fail_after(5):
        await wait_gone(child)
    assert gw.spend.open_holds(gw.identity) == 0
