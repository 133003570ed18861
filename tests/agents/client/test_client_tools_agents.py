"""Money, MCP tools and ACP agents through the client, against a gateway that hosts both."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

from agents import BitRouterError
from gateway import Gateway
from tests.agents.client.conftest import MODEL

NOTES = Path(__file__).with_name("notes_server.py")


@pytest.fixture(scope="module")
def hosting() -> Iterator[Gateway]:
    """A gateway with the notes MCP server (200 µUSD a call) and the assistant agent."""
    config = {
        "mcp_servers": [
            {"name": "notes", "command": sys.executable, "args": [str(NOTES)], "default_price": 200}
        ],
        "acp_agents": [
            {
                "name": "assistant",
                "command": sys.executable,
                "args": ["-m", "agents.assistant"],
                "price_per_turn": 1000,
                "env": {"BITROUTER_AGENT_MODEL": MODEL},
            }
        ],
    }
    with Gateway(simulator=True, config=config, agent_keys=["capped"]) as gateway:
        yield gateway


@pytest.fixture
def notes(hosting: Gateway) -> Gateway:
    """The hosting gateway once the notes server's tool is listed (the server is a process of
    its own, which joins the listing when it has connected)."""

    async def listed() -> None:
        async with hosting.async_client() as client:
            with trio.fail_after(60):
                while "notes__search" not in (await client.tools()).names:
                    await trio.sleep(0.1)

    trio.run(listed)
    return hosting


@pytest.mark.req("NB-9")
def test_a_tool_call_goes_through_mcp_and_is_charged(notes: Gateway) -> None:
    with notes.client() as client:
        listed = {t.name: t for t in client.tools()}
        result = client.call_tool("notes__search", {"query": "invoice"})
        usage = client.usage(kind="tool")
    assert listed["notes__search"].per_call_micro_usd == 200
    assert {"chat", "quote", "list_models", "balance"} <= listed.keys()
    assert result.text == "Invoices go out on the 1st." and not result.is_error
    assert result.cost_micro_usd == 200
    assert [(r.subject, r.cost_micro_usd) for r in usage] == [("notes__search", 200)]


@pytest.mark.req("NB-9")
@pytest.mark.req("NB-7")
def test_an_unknown_tool_is_a_refusal_with_its_code(hosting: Gateway) -> None:
    with hosting.client() as client, pytest.raises(BitRouterError) as refused:
        client.call_tool("notes__nothing", {})
    assert refused.value.status == 404 and refused.value.code


@pytest.mark.req("NB-9")
async def test_the_async_client_calls_tools_under_trio(notes: Gateway) -> None:
    async with notes.async_client() as client:
        result = await client.call_tool("notes__search", {"query": "lisbon"})
    assert result.text == "Book the Lisbon trip before May."


@pytest.mark.req("NB-9")
def test_an_agent_turn_runs_its_tools_and_is_charged_to_the_caller(notes: Gateway) -> None:
    asked: list[dict[str, Any]] = []

    def allow(request: Any) -> str | None:
        asked.append(dict(request))
        return next(o["optionId"] for o in request["options"] if o["kind"] == "allow_once")

    token = notes.token(agent="capped", tools=["notes__*"])
    with notes.client(token=token) as client:
        agents = {a.id: a for a in client.agents()}
        turn = client.prompt_agent("assistant", "What do my notes say?", on_permission=allow)
        summary = {g.key: g.cost_micro_usd for g in client.usage_summary("kind")}
    assert agents["assistant"].price_per_turn_micro_usd == 1000
    assert turn.stop_reason == "end_turn" and turn.cost_micro_usd == 1000
    assert [c.status for c in turn.tool_calls] == ["completed"]
    assert len(asked) == 1 and turn.permissions[0].endswith(asked[0]["options"][0]["optionId"])
    assert "tool result" in turn.text
    # The agent's own model and tool calls were charged to the caller, beside the turn.
    assert summary["agent"] == 1000 and summary["tool"] == 200 and summary["model"] > 0


@pytest.mark.req("NB-9")
def test_balance_shows_a_budget_and_what_is_left(hosting: Gateway) -> None:
    with hosting.client(token=hosting.token(budget=1_000_000)) as client:
        client.chat(MODEL, "Spend a little", max_tokens=20)
        balance = client.balance()
        settlements = client.transactions(limit=10)
    assert balance.spent_micro_usd > 0 and balance.limited_by == "budget"
    assert balance.budget is not None and balance.budget["used"] > 0
    assert balance.remaining_micro_usd == 1_000_000 - balance.budget["used"]
    assert "<svg" in balance._repr_html_()  # spent, reserved and remaining as bars
    assert len(settlements) == 0  # nothing settled on-chain yet (batches settle later)
