"""The other clients of ``/acp``: the official SDK's own HTTP transport (which opens a
session-scoped stream per session) and a WebSocket on the same path."""

from __future__ import annotations

import asyncio
import json
from functools import partial
from typing import Any

import httpx
import pytest
import trio
from acp import connect_to_agent, text_block
from acp.http import create_http_stream
from acp.schema import AllowedOutcome, RequestPermissionResponse
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from gateway.acp import AcpFace
from tests.acp.acp_raw import RawAcp, chunks
from tests.acp.acp_stack import FAKE_TURN_PRICE, StartStack, alive


async def _record_pid(face: AcpFace, pids: list[int]) -> None:
    sessions = await face.wait_sessions(lambda sessions: len(sessions) == 1)
    pids.append(sessions[0]["pid"])


class _Recorder:
    """An SDK client that records the texts it is streamed and allows every tool call."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.asked: list[str] = []

    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        if update.session_update == "agent_message_chunk":
            self.texts.append(update.content.text)

    async def request_permission(
        self, session_id: str, tool_call: Any, options: Any, **kwargs: Any
    ) -> RequestPermissionResponse:
        self.asked.append(tool_call.title)
        chosen = next(o.option_id for o in options if o.kind == "allow_once")
        return RequestPermissionResponse(
            outcome=AllowedOutcome(outcome="selected", option_id=chosen)
        )


def _sdk_http_turns(url: str, token: str) -> dict[str, Any]:
    async def main() -> dict[str, Any]:
        client = _Recorder()
        transport = create_http_stream(url, headers={"Authorization": f"Bearer {token}"})
        conn = connect_to_agent(client, transport)
        try:
            init = await asyncio.wait_for(conn.initialize(protocol_version=1), 30)
            session = await asyncio.wait_for(conn.new_session(cwd="/", mcp_servers=[]), 30)
            sid = session.session_id
            first = await asyncio.wait_for(
                conn.prompt(session_id=sid, prompt=[text_block("hi")]), 30
            )
            texts = list(client.texts)
            second = await asyncio.wait_for(
                conn.prompt(session_id=sid, prompt=[text_block("ask")]), 30
            )
        finally:
            await transport.close()
        return {
            "agent": init.agent_info.name if init.agent_info else None,
            "stops": [first.stop_reason, second.stop_reason],
            "texts": texts,
            "asked": client.asked,
            "answer": client.texts[-1],
        }

    return asyncio.run(main())


@pytest.mark.req("ACP-HTTP")
@pytest.mark.req("ACP-STREAMS")
async def test_the_official_sdk_http_transport_runs_turns(stack: StartStack) -> None:
    gw = await stack(hosted=("fake",))
    pids: list[int] = []
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_record_pid, gw.acp, pids)
            seen = await trio.to_thread.run_sync(_sdk_http_turns, gw.endpoint("fake"), gw.token)
    assert seen["agent"] == "fake"
    assert seen["stops"] == ["end_turn", "end_turn"]
    assert seen["texts"] == ["one", "two", "three"]
    assert seen["asked"] == ["delete everything"]
    assert json.loads(seen["answer"])["result"]["outcome"]["optionId"] == "yes"
    assert [line["cost_micro_usd"] for line in gw.spend.usage] == [FAKE_TURN_PRICE] * 2
    with trio.fail_after(10):
        await gw.acp.wait_sessions(lambda sessions: not sessions)  # the DELETE ended them
    assert pids and not alive(pids[0])


def _websocket_turn(url: str, token: str) -> dict[str, Any]:
    seen: list[dict[str, Any]] = []
    with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as socket:
        connection_id = socket.response.headers["acp-connection-id"]

        def call(request_id: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
            socket.send(
                json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
            )
            while True:
                message = json.loads(socket.recv(timeout=30))
                seen.append(message)
                if message.get("method") == "session/request_permission":
                    answer = {"outcome": {"outcome": "selected", "optionId": "no"}}
                    socket.send(
                        json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": answer})
                    )
                elif message.get("id") == request_id and "method" not in message:
                    return message

        init = call(0, "initialize", {"protocolVersion": 1})
        session_id = call(1, "session/new", {"cwd": "/", "mcpServers": []})["result"]["sessionId"]
        first = call(
            2,
            "session/prompt",
            {"sessionId": session_id, "prompt": [{"type": "text", "text": "hi"}]},
        )
        second = call(
            3,
            "session/prompt",
            {"sessionId": session_id, "prompt": [{"type": "text", "text": "ask"}]},
        )
    return {
        "connection": connection_id,
        "init": init,
        "first": first,
        "second": second,
        "seen": seen,
    }


@pytest.mark.req("ACP-WS")
async def test_a_websocket_on_the_same_path(stack: StartStack) -> None:
    gw = await stack(hosted=("fake",))
    ws_url = gw.endpoint("fake").replace("http://", "ws://")
    with pytest.raises(InvalidStatus) as refused:
        await trio.to_thread.run_sync(lambda: connect(ws_url).close())
    assert refused.value.response.status_code == 401
    assert json.loads(refused.value.response.body)["error"]["type"] == "authentication_error"
    pids: list[int] = []
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_record_pid, gw.acp, pids)
            result = await trio.to_thread.run_sync(_websocket_turn, ws_url, gw.token)
    assert result["connection"]
    assert result["init"]["result"]["agentInfo"]["name"] == "fake"
    assert result["first"]["result"]["stopReason"] == "end_turn"
    texts = chunks(result["seen"])
    assert texts[:3] == ["one", "two", "three"]
    assert json.loads(texts[3])["result"]["outcome"]["optionId"] == "no"
    with trio.fail_after(10):
        await gw.acp.wait_sessions(lambda sessions: not sessions)  # the socket closed
    assert pids and not alive(pids[0])


@pytest.mark.req("ACP-STREAMS")
async def test_a_session_stream_carries_its_sessions_messages(stack: StartStack) -> None:
    gw = await stack(hosted=("fake",))
    async with httpx.AsyncClient(timeout=30) as http, trio.open_nursery() as nursery:
        client = RawAcp(http, gw.endpoint("fake"), gw.token)
        with trio.fail_after(30):
            await client.initialize()
            await nursery.start(client.listen)
            new = await client.call(1, "session/new", {"cwd": "/", "mcpServers": []})
            session_id = new["result"]["sessionId"]
            scoped = RawAcp(http, client.url, gw.token)
            scoped.connection_id = client.connection_id
            await nursery.start(partial(scoped.listen, session_id=session_id))
            prompt = {"sessionId": session_id, "prompt": [{"type": "text", "text": "hi"}]}
            posted = await client.post(
                {"jsonrpc": "2.0", "id": 2, "method": "session/prompt", "params": prompt},
                session_id,
            )
            assert posted.status_code == 202
            done = await scoped.until_response(2)
        assert done["result"]["stopReason"] == "end_turn"
        assert chunks(scoped.seen) == ["one", "two", "three"]
        # On the connection's stream: the session/new answer, then what the agent said before
        # answering it (held back until the client knew the session), and nothing else.
        answer, early = client.seen
        assert answer["id"] == 1
        assert early["params"]["sessionId"] == session_id
        assert early["params"]["update"]["sessionUpdate"] == "available_commands_update"
        nursery.cancel_scope.cancel()
