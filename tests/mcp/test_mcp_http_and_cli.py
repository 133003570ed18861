"""``GET /v1/tools`` and ``bitrouter mcp list|call|install`` against a running face."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import trio
import typer
from quart_trio import QuartTrio
from typer.testing import CliRunner, Result

from gateway.cli import _mcp
from gateway.errors import AuthError, Forbidden, GatewayError, UpstreamUnavailable
from gateway.http import _tools
from gateway.http._respond import on_gateway_error
from gateway.identity import TokenFiles, Verifier
from tests.mcp.mcp_fixtures import Mint, StartGateway


@pytest.mark.req("MCP-HTTP-1")
async def test_get_v1_tools_lists_the_tokens_tools_with_prices(
    start_gateway: StartGateway, mint: Mint, verifier: Verifier
) -> None:
    gw = await start_gateway(servers=("calc",))
    app = QuartTrio("test")
    app.register_blueprint(_tools.blueprint())
    app.register_error_handler(GatewayError, on_gateway_error)
    app.extensions["bitrouter"] = SimpleNamespace(verifier=verifier, mcp=gw.face)
    client = app.test_client()
    answer = await client.get(
        "/v1/tools", headers={"authorization": f"Bearer {mint(tools=['calc__*', 'quote'])}"}
    )
    assert answer.status_code == 200
    body = await answer.get_json()
    assert body["object"] == "list"
    assert [t["name"] for t in body["data"]] == [
        "quote",
        "calc__add",
        "calc__whoami",
        "calc__liar",
        "calc__slow",
    ]
    add = body["data"][1]
    assert add["price"] == {"per_call_micro_usd": 7, "per_kb_micro_usd": 0}
    assert add["server"] == "calc" and add["available"] is True
    assert body["data"][0]["price"] is None and body["data"][0]["server"] is None
    refused = await client.get("/v1/tools")
    assert refused.status_code == 401
    assert (await refused.get_json())["error"]["type"] == "authentication_error"


def _cli(home: Path, *args: str) -> Result:
    app = typer.Typer(pretty_exceptions_enable=False)
    _mcp.register(app)
    return CliRunner().invoke(app, list(args), env={"BITROUTER_HOME": str(home)})


async def _run_cli(home: Path, *args: str) -> Result:
    # The command runs its own trio loop, so it runs in a worker thread here.
    return await trio.to_thread.run_sync(lambda: _cli(home, *args))


@pytest.mark.req("MCP-CLI-1")
async def test_cli_lists_and_calls_tools(
    start_gateway: StartGateway, mint: Mint, home: Path
) -> None:
    gw = await start_gateway(servers=("calc",))
    base = gw.url.removesuffix("/mcp")

    listed = await _run_cli(home, "mcp", "list", "--url", base, "--json")
    assert listed.exit_code == 0, listed.output
    tools: list[dict[str, Any]] = json.loads(listed.stdout)
    assert {"chat", "calc__add"} <= {t["name"] for t in tools}

    table = await _run_cli(home, "mcp", "list", "--url", base)
    assert "calc__add" in table.stdout and "7 µUSD" in table.stdout

    called = await _run_cli(
        home, "mcp", "call", "calc__add", "--args", '{"a": 2, "b": 5}', "--url", base
    )
    assert called.exit_code == 0, called.output
    assert called.stdout.strip() == "7" and "(charged 7 µUSD)" in called.stderr

    TokenFiles(home).save("limited", mint(tools=["chat"]))
    refused = await _run_cli(
        home,
        "mcp",
        "call",
        "calc__add",
        "--args",
        '{"a": 1, "b": 1}',
        "--url",
        base,
        "--token",
        "limited",
    )
    assert refused.exit_code != 0 and isinstance(refused.exception, Forbidden)
    assert "not allowed by this token's 'tools' claim" in refused.exception.message

    TokenFiles(home).save("stale", "not.a.token")
    bad = await _run_cli(home, "mcp", "list", "--url", base, "--token", "stale")
    assert isinstance(bad.exception, AuthError)
    assert bad.exception.message.startswith("the gateway refused the MCP connection")

    down = await _run_cli(home, "mcp", "list", "--url", "http://127.0.0.1:9")
    assert isinstance(down.exception, UpstreamUnavailable)
    assert "cannot reach the gateway" in down.exception.message


@pytest.mark.req("MCP-CLI-1")
def test_cli_install_prints_the_client_block(home: Path, mint: Mint) -> None:
    claude = _cli(home, "mcp", "install", "--client", "claude", "--url", "http://gw:8787")
    assert claude.exit_code == 0, claude.output
    assert json.loads(claude.stdout) == {
        "mcpServers": {
            "bitrouter": {
                "type": "http",
                "url": "http://gw:8787/mcp",
                "headers": {"Authorization": "Bearer ${BITROUTER_TOKEN}"},
            }
        }
    }
    assert "export BITROUTER_TOKEN=" in claude.stderr

    token = mint()
    TokenFiles(home).save("default", token)
    cursor = _cli(
        home, "mcp", "install", "--client", "cursor", "--url", "http://gw:8787", "--embed-token"
    )
    server = json.loads(cursor.stdout)["mcpServers"]["bitrouter"]
    assert server == {"url": "http://gw:8787/mcp", "headers": {"Authorization": f"Bearer {token}"}}

    wrong = _cli(home, "mcp", "install", "--client", "vim")
    assert wrong.exit_code != 0 and "must be claude or cursor" in str(wrong.exception)
