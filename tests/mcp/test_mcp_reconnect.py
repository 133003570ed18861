"""A crashed upstream is reconnected; meanwhile its calls fail clearly and the others work."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import trio
from mcp import MCPError

from tests.mcp.mcp_fixtures import Mint, StartGateway, connect, serve_asgi
from tests.mcp.mcp_upstream_http import http_upstream_app


@pytest.mark.req("MCP-UP-2")
async def test_a_killed_stdio_server_is_reconnected_and_fails_clearly_meanwhile(
    start_gateway: StartGateway, mint: Mint, home: Path
) -> None:
    gw = await start_gateway()
    async with connect(gw.url, mint()) as client:
        first = (await client.call_tool("files__pid", {})).structured_content["result"]
        # While the block file exists the server exits at start: a crash loop, not a blip.
        (home / "block").touch()
        os.kill(first, signal.SIGKILL)
        with trio.fail_after(20):
            down = await gw.face.wait_until(lambda s: not s["files"].connected)
        assert down["calc"].connected

        with pytest.raises(MCPError) as unavailable:
            await client.call_tool("files__echo", {"text": "hello?"})
        assert unavailable.value.code == -32005
        assert unavailable.value.message.startswith("MCP server 'files' is unavailable (")
        assert unavailable.value.message.endswith("the gateway is reconnecting to it")
        assert (await client.call_tool("calc__add", {"a": 1, "b": 2})).structured_content == {
            "sum": 3
        }
        listed = await client.list_tools()
        assert "files__echo" in {t.name for t in listed.tools}  # still offered, marked down
        assert listed.meta is not None and "files" in listed.meta["bitrouter/unavailable"]

        (home / "block").unlink()
        with trio.fail_after(30):
            up = await gw.face.wait_until(lambda s: s["files"].connected)
        assert up["files"].connections == 2
        assert (await client.call_tool("files__echo", {"text": "back"})).content[0].text == (  # type: ignore[union-attr]
            "echo: back"
        )
        second = (await client.call_tool("files__pid", {})).structured_content["result"]
        assert second != first
    assert [u["subject"] for u in gw.spend.usage] == [
        "files__pid",
        "calc__add",
        "files__echo",
        "files__pid",
    ]


@pytest.mark.req("MCP-UP-2")
async def test_an_http_server_that_goes_away_is_reconnected_when_it_returns(
    start_gateway: StartGateway, mint: Mint, nursery: trio.Nursery
) -> None:
    scope = trio.CancelScope()

    async def run_calc(port: int, *, task_status: trio.TaskStatus[str]) -> None:
        with scope:
            async with trio.open_nursery() as inner:
                task_status.started(await serve_asgi(inner, http_upstream_app(), port))

    url = await nursery.start(run_calc, 0)
    port = int(url.rsplit(":", 1)[1])
    gw = await start_gateway(servers=("calc",), calc={"url": f"{url}/mcp"})
    async with connect(gw.url, mint()) as client:
        assert (await client.call_tool("calc__add", {"a": 1, "b": 1})).structured_content == {
            "sum": 2
        }
        scope.cancel()
        with pytest.raises(MCPError) as gone:
            await client.call_tool("calc__add", {"a": 1, "b": 1})
        assert gone.value.code == -32005
        assert gone.value.message.startswith("MCP server 'calc' ")
        assert "reconnecting" in gone.value.message
        assert (await client.call_tool("quote", {"model": "m", "messages": []})).structured_content

        scope = trio.CancelScope()
        await nursery.start(run_calc, port)
        with trio.fail_after(30):
            await gw.face.wait_until(lambda s: s["calc"].connections == 2 and s["calc"].connected)
        assert (await client.call_tool("calc__add", {"a": 2, "b": 2})).structured_content == {
            "sum": 4
        }
