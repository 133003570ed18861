"""``bitrouter acp list`` and ``bitrouter acp prompt`` against a running gateway."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from gateway.identity import TokenFiles
from tests.acp.acp_stack import FAKE_TURN_PRICE, TURN_PRICE, StartStack

RUN = (
    "import typer; from gateway.cli import _acp; app = typer.Typer(); "
    "app.callback()(lambda: None); _acp.register(app); app()"
)


async def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {"BITROUTER_HOME": str(home), "PATH": "/usr/bin:/bin"}
    with trio.fail_after(60):
        return await trio.run_process(
            [sys.executable, "-c", RUN, "acp", *args],
            env=env,
            capture_stdout=True,
            capture_stderr=True,
            check=False,
            stdin=subprocess.DEVNULL,
        )


@pytest.mark.req("ACP-CLI")
@pytest.mark.req("ACP-LIST")
async def test_list_shows_the_agents_with_prices_and_capabilities(
    stack: StartStack, home: Path
) -> None:
    gw = await stack()
    TokenFiles(home).save("default", gw.token)
    with trio.fail_after(30):
        await gw.acp.describe_agents()
    listed = await _cli(home, "list", "--json", "--url", gw.url)
    assert listed.returncode == 0, listed.stderr
    agents = {a["id"]: a for a in json.loads(listed.stdout)}
    assert agents["assistant"]["price_per_turn_micro_usd"] == TURN_PRICE
    assert agents["fake"]["price_per_turn_micro_usd"] == FAKE_TURN_PRICE
    assert agents["assistant"]["capabilities"]["mcpCapabilities"]["http"] is True
    assert agents["fake"]["agent_info"] == {"name": "fake", "version": "1"}
    assert agents["fake"]["status"] == "ready"
    table = await _cli(home, "list", "--url", gw.url)
    assert table.returncode == 0
    lines = table.stdout.decode().splitlines()
    assert any(line.startswith("fake") and "$0.0005 a turn" in line for line in lines)
    assert any("The BitRouter assistant" in line for line in lines)


@pytest.mark.req("ACP-CLI")
async def test_prompt_streams_the_turn_and_asks_before_tools(stack: StartStack, home: Path) -> None:
    gw = await stack(hosted=("fake",))
    TokenFiles(home).save("default", gw.token)
    said = await _cli(home, "prompt", "fake", "hi", "--url", gw.url)
    assert said.returncode == 0, said.stderr
    assert said.stdout.decode() == "onetwothree\n"
    refused = await _cli(home, "prompt", "fake", "ask", "--url", gw.url)
    assert refused.returncode == 0
    assert json.loads(refused.stdout)["result"]["outcome"]["optionId"] == "no"
    assert b"pass --yes to allow tool calls" in refused.stderr
    allowed = await _cli(home, "prompt", "fake", "ask", "--yes", "--url", gw.url)
    assert json.loads(allowed.stdout)["result"]["outcome"]["optionId"] == "yes"
    crashed = await _cli(home, "prompt", "fake", "crash", "--url", gw.url)
    assert crashed.returncode == 1
    (line,) = crashed.stderr.decode().strip().splitlines()
    assert line.startswith("bitrouter: ") and "exited with code 3" in line
    assert [entry["cost_micro_usd"] for entry in gw.spend.usage] == [FAKE_TURN_PRICE] * 3
