"""``bitrouter acp proxy``: the official ACP SDK client launches it as its agent (as an editor
would) and talks, over stdio, to the assistant hosted by the gateway."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
import trio
from acp import spawn_agent_process, text_block
from acp.schema import AllowedOutcome, RequestPermissionResponse

from gateway.acp import AcpFace
from gateway.identity import TokenFiles
from tests.acp.acp_stack import TURN_PRICE, StartStack, alive

# The command group on a bare typer app, so the test does not depend on the rest of the CLI.
RUN = (
    "import typer; from gateway.cli import _acp; app = typer.Typer(); "
    "app.callback()(lambda: None); _acp.register(app); app()"
)
SLOW = "[[sim:chunk_delay_ms=250,tokens=60]] tell me more"


class _Editor:
    """What an editor does: shows chunks, allows tool calls, cancels turn 2 after 3 words."""

    def __init__(self) -> None:
        self.turns: list[list[str]] = [[]]
        self.tools: list[str] = []
        self.cancel: asyncio.Event = asyncio.Event()

    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        if update.session_update == "agent_message_chunk":
            self.turns[-1].append(update.content.text)
            if len(self.turns) == 2 and len(self.turns[-1]) == 3:
                self.cancel.set()

    async def request_permission(
        self, session_id: str, tool_call: Any, options: Any, **kwargs: Any
    ) -> RequestPermissionResponse:
        self.tools.append(tool_call.title)
        return RequestPermissionResponse(
            outcome=AllowedOutcome(outcome="selected", option_id="allow")
        )


def _editor_session(url: str, home: Path) -> dict[str, Any]:
    async def main() -> dict[str, Any]:
        editor = _Editor()
        env = {"BITROUTER_HOME": str(home)}
        command = ("-c", RUN, "acp", "proxy", "assistant", "--url", url)
        async with spawn_agent_process(editor, sys.executable, *command, env=env) as (conn, _proxy):
            init = await asyncio.wait_for(conn.initialize(protocol_version=1), 60)
            session = await asyncio.wait_for(conn.new_session(cwd="/", mcp_servers=[]), 60)
            sid = session.session_id
            first = await asyncio.wait_for(
                conn.prompt(session_id=sid, prompt=[text_block("look it up")]), 60
            )
            editor.turns.append([])
            turn = asyncio.ensure_future(conn.prompt(session_id=sid, prompt=[text_block(SLOW)]))
            await asyncio.wait_for(editor.cancel.wait(), 60)
            await conn.cancel(session_id=sid)
            second = await asyncio.wait_for(turn, 30)
        return {
            "agent": init.agent_info.name if init.agent_info else None,
            "stops": [first.stop_reason, second.stop_reason],
            "cost": (first.field_meta or {}).get("bitrouter/cost_micro_usd"),
            "turns": editor.turns,
            "tools": editor.tools,
        }

    return asyncio.run(main())


async def _record_pid(face: AcpFace, pids: list[int]) -> None:
    sessions = await face.wait_sessions(lambda sessions: len(sessions) == 1)
    pids.append(sessions[0]["pid"])


@pytest.mark.req("ACP-PROXY")
@pytest.mark.req("ACP-RELAY")
@pytest.mark.req("ACP-CANCEL")
async def test_an_editor_runs_the_hosted_assistant_through_the_proxy(
    stack: StartStack, home: Path
) -> None:
    gw = await stack(hosted=("assistant",))
    TokenFiles(home).save("default", gw.token)  # the proxy sends the home's saved token
    pids: list[int] = []
    with trio.fail_after(150):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_record_pid, gw.acp, pids)
            seen = await trio.to_thread.run_sync(_editor_session, gw.url, home)
        await gw.acp.wait_sessions(lambda sessions: not sessions)  # stdin closed: DELETE
    assert seen["agent"] == "bitrouter-assistant"
    assert seen["stops"] == ["end_turn", "cancelled"]
    assert seen["cost"] == TURN_PRICE
    assert seen["tools"] == ["kb__lookup", "kb__lookup"]
    first = "".join(seen["turns"][0])
    assert first.startswith("[simulated ") and 'tool result: "kb says: ' in first
    assert 3 <= len(seen["turns"][1]) < 20  # cancelled well before the 60 words
    assert [line["kind"] for line in gw.spend.usage].count("agent") == 1
    assert all(line["identity"] == gw.identity for line in gw.spend.usage)
    assert pids and not alive(pids[0])
