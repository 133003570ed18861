"""``bitrouter sim``: help, start-up banner, clean stop, and a busy port."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys

import httpx
import pytest
import trio
import typer
from typer.testing import CliRunner

from gateway.cli import _sim

# The command on a bare typer app, so the test does not depend on the rest of the CLI.
RUN = (
    "import typer; from gateway.cli import _sim; app = typer.Typer(); "
    "app.callback()(lambda: None); _sim.register(app); app()"
)


@pytest.mark.req("SIM-CLI")
@pytest.mark.req("SIM-LABEL")
def test_help_says_it_is_a_simulator() -> None:
    app = typer.Typer()
    app.callback()(lambda: None)
    _sim.register(app)
    result = CliRunner().invoke(app, ["sim", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "SIMULATOR of upstream LLM providers" in result.output
    assert "NOT a real model" in result.output
    assert "[[sim:KEY=VALUE,...]]" in result.output
    for option in ("--host", "--port", "--ttft-ms", "--chunk-delay-ms"):
        assert option in result.output


@pytest.mark.req("SIM-CLI")
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
async def test_prints_urls_serves_and_stops_cleanly(stop: signal.Signals) -> None:
    command = [sys.executable, "-c", RUN, "sim", "--port", "0", "--json"]
    process = await trio.lowlevel.open_process(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None and process.stderr is not None
    with trio.fail_after(20):
        text = b""
        while not text.rstrip().endswith(b"}"):
            text += await process.stdout.receive_some()
        urls = json.loads(text)
        assert urls["simulator"] is True
        assert urls["openai"] == urls["base_url"] + "/p/openai/v1"
        async with httpx.AsyncClient() as client:
            about = await client.get(urls["base_url"] + "/")
        assert about.headers["x-bitrouter-simulator"] == "1"
        process.send_signal(stop)
        assert await process.wait() == 0
        errors = b""
        while chunk := await process.stderr.receive_some():
            errors += chunk
    assert errors.decode().strip() == "bitrouter: simulator stopped"


@pytest.mark.req("SIM-CLI")
def test_busy_port_fails_with_one_line() -> None:
    app = typer.Typer()
    app.callback()(lambda: None)
    _sim.register(app)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = CliRunner().invoke(app, ["sim", "--port", port])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"bitrouter: cannot listen on 127.0.0.1:{port}")
