"""An external agent of the ``npx`` kind, hosted like any other: Zed's Claude Code adapter
from npm, through the gateway up to ``initialize`` (a real turn needs its vendor's network)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
import trio

from tests.acp.acp_raw import RawAcp
from tests.acp.acp_stack import StartStack, wait_gone

PACKAGE = "@zed-industries/claude-code-acp@0.16.2"
NODE = all(shutil.which(tool) for tool in ("node", "npm", "npx"))


def _processes_of(folder: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if str(folder).encode() in cmdline:
            found.append(int(entry.name))
    return found


@pytest.mark.slow
@pytest.mark.req("ACP-NPX")
@pytest.mark.skipif(not NODE, reason="needs node, npm and npx")
async def test_claude_code_acp_from_npm_answers_initialize_through_the_gateway(
    stack: StartStack, tmp_path: Path
) -> None:
    install = tmp_path / "claude-code-acp"
    install.mkdir()
    command = ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"]
    with trio.fail_after(300):
        done = await trio.run_process(
            [*command, "--prefix", str(install), PACKAGE],
            capture_stdout=True,
            capture_stderr=True,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    if done.returncode != 0:
        pytest.skip(f"npm could not install {PACKAGE}")
    agent = {
        "command": "npx",
        "args": ["--prefix", str(install), "--no-install", "claude-code-acp"],
    }
    gw = await stack(hosted=(), agents={"claude": agent})
    async with httpx.AsyncClient(timeout=90) as http:
        client = RawAcp(http, gw.endpoint("claude"), gw.token)
        with trio.fail_after(90):
            init = await client.initialize()
    assert init.status_code == 200, init.text
    result = init.json()["result"]
    assert result["agentInfo"]["name"] == "@zed-industries/claude-code-acp"
    assert result["agentCapabilities"]["promptCapabilities"]["image"] is True
    assert result["agentCapabilities"]["loadSession"] is False  # not relayed by the gateway
    assert result["authMethods"] == []  # the caller's bearer token is the only login here
    (listed,) = gw.acp.list_agents()
    assert listed["status"] == "ready"
    assert listed["capabilities"]["mcpCapabilities"] == {"http": True, "sse": True}
    # The probe stopped npx and the node process it started.
    with trio.fail_after(10):
        for pid in _processes_of(install):
            await wait_gone(pid)
