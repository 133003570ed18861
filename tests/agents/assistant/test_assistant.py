"""The assistant agent on its own: the official ACP SDK client launches it over stdio; its
model is the provider simulator (through a small relay that can refuse like a gateway at its
cap) and its tools come from an MCP server given in ``session/new``."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import httpx
import pytest
import trio
from acp import spawn_agent_process, text_block
from acp.schema import AllowedOutcome, HttpMcpServer, RequestPermissionResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

import agents.assistant
from gateway.simulator import SimulatorConfig, serve_simulator
from tests.acp.acp_kb_server import kb_app
from tests.acp.acp_stack import serve_asgi

REFUSAL = "budget exhausted: this token's budget of 5000 µUSD is spent"


def _model_relay(sim_url: str) -> Starlette:
    """The simulator's chat completions, except that a prompt saying "refuse me" gets the
    gateway's 402."""

    async def completions(request: Request) -> Response:
        body = await request.json()
        last = next(m for m in reversed(body["messages"]) if m["role"] == "user")
        if "refuse me" in last["content"]:
            error = {"message": REFUSAL, "type": "insufficient_quota", "code": "budget_exhausted"}
            return JSONResponse({"error": error}, status_code=402)
        client = httpx.AsyncClient(timeout=30)
        upstream = await client.send(
            client.build_request(
                "POST",
                f"{sim_url}/p/openai/v1/chat/completions",
                json=body,
                headers={"authorization": "Bearer simulated"},
            ),
            stream=True,
        )

        async def relay() -> Any:
            try:
                async for line in upstream.aiter_lines():
                    yield line + "\n"
            finally:
                with trio.CancelScope(shield=True):
                    await upstream.aclose()
                    await client.aclose()

        return StreamingResponse(relay(), media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])


class _User:
    """Rejects the first tool call, allows the next; cancels turn 3 after 3 words."""

    def __init__(self) -> None:
        self.updates: list[list[Any]] = [[]]
        self.decisions = ["reject", "allow", "allow"]
        self.cancel = asyncio.Event()

    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        self.updates[-1].append(update)
        texts = [u for u in self.updates[-1] if u.session_update == "agent_message_chunk"]
        if len(self.updates) == 3 and len(texts) == 3:
            self.cancel.set()

    async def request_permission(
        self, session_id: str, tool_call: Any, options: Any, **kwargs: Any
    ) -> RequestPermissionResponse:
        choice = self.decisions.pop(0)
        return RequestPermissionResponse(
            outcome=AllowedOutcome(outcome="selected", option_id=choice)
        )


def _session(model_url: str, kb_url: str) -> dict[str, Any]:
    async def main() -> dict[str, Any]:
        user = _User()
        env = {
            "OPENAI_BASE_URL": model_url,
            "OPENAI_API_KEY": "test",
            "BITROUTER_AGENT_MODEL": "sim-small",
        }
        args = ("-m", "agents.assistant")
        async with spawn_agent_process(user, sys.executable, *args, env=env) as (conn, _):
            init = await asyncio.wait_for(conn.initialize(protocol_version=1), 60)
            kb = HttpMcpServer(type="http", name="kb", url=kb_url, headers=[])
            sid = (
                await asyncio.wait_for(conn.new_session(cwd="/", mcp_servers=[kb]), 30)
            ).session_id

            async def turn(text: str) -> Any:
                return await asyncio.wait_for(
                    conn.prompt(session_id=sid, prompt=[text_block(text)]), 60
                )

            stops = [(await turn("look it up")).stop_reason]
            user.updates.append([])
            stops.append((await turn("again")).stop_reason)
            user.updates.append([])
            slow = asyncio.ensure_future(turn("[[sim:chunk_delay_ms=250,tokens=60]] more"))
            await asyncio.wait_for(user.cancel.wait(), 60)
            await conn.cancel(session_id=sid)
            stops.append((await slow).stop_reason)
            user.updates.append([])
            refused = await turn("refuse me")
        return {
            "init": init,
            "stops": [*stops, refused.stop_reason],
            "meta": refused.field_meta,
            "updates": user.updates,
        }

    return asyncio.run(main())


def _texts(updates: list[Any]) -> str:
    return "".join(u.content.text for u in updates if u.session_update == "agent_message_chunk")


@pytest.mark.req("AGENT-ASSISTANT")
async def test_the_assistant_uses_tools_with_permission_streams_and_stops(
    nursery: trio.Nursery,
) -> None:
    sim_url = await nursery.start(serve_simulator, SimulatorConfig())
    model_url = await serve_asgi(nursery, _model_relay(sim_url)) + "/v1"
    kb_url = await serve_asgi(nursery, kb_app()) + "/mcp"
    with trio.fail_after(150):
        seen = await trio.to_thread.run_sync(_session, model_url, kb_url)
    init = seen["init"]
    assert init.agent_info.name == "bitrouter-assistant"
    assert init.agent_capabilities.mcp_capabilities.http is True
    assert seen["stops"] == ["end_turn", "end_turn", "cancelled", "max_tokens"]
    declined, allowed, cancelled, refused = seen["updates"][:4]
    # Turn 1: the tool call is announced, refused by the user, and the model told so.
    kinds = [(u.session_update, getattr(u, "status", None)) for u in declined]
    assert kinds[:2] == [("tool_call", "pending"), ("tool_call_update", "failed")]
    assert 'tool result: "The user declined this tool call."' in _texts(declined)
    # Turn 2: allowed, run, its result fed back to the model.
    statuses = [u.status for u in allowed if u.session_update == "tool_call_update"]
    assert statuses == ["in_progress", "completed"]
    assert 'tool result: "kb says: ' in _texts(allowed)
    # Turn 3 was cut short by the cancel; turn 4 ended on the gateway's refusal.
    assert 3 <= len([u for u in cancelled if u.session_update == "agent_message_chunk"]) < 20
    assert _texts(refused) == f"\n\n[bitrouter] {REFUSAL}"
    assert seen["meta"] == {"bitrouter/refusal": REFUSAL}


def test_the_public_api() -> None:
    assert agents.assistant.__all__ == ["DEFAULT_MODEL", "Assistant", "AssistantConfig", "main"]
    for name in agents.assistant.__all__:
        value = getattr(agents.assistant, name)
        assert isinstance(value, str) or value.__doc__
    config = agents.assistant.AssistantConfig.from_environment(
        {"BITROUTER_URL": "http://gw:8787/", "BITROUTER_TOKEN": "t"}
    )
    assert (config.base_url, config.api_key, config.model) == (
        "http://gw:8787/v1",
        "t",
        agents.assistant.DEFAULT_MODEL,
    )
