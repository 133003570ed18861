"""Unattended setup, re-running it, and the background server: start, status, stop, `bitrouter`.

The commands run in-process; the server they start is the real one, in the background.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner, Result

from gateway.cli import _daemon, _first, _init
from gateway.setup import check_health
from tests.cli.terminal import free_port, gone, stop_everything


@pytest.fixture
def cli(home: Path, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    """``bitrouter`` with the wizard, the server commands and the first-launch behaviour."""
    for name in list(os.environ):
        if name.endswith(("_API_KEY", "_BASE_URL", "_API_BASE")):
            monkeypatch.delenv(name)
    app = typer.Typer(pretty_exceptions_enable=False)
    for module in (_first, _init, _daemon):
        module.register(app)
    return app


def run(app: typer.Typer, *args: str, **env: str) -> Result:
    return CliRunner().invoke(app, list(args), env=env or None)


@pytest.mark.slow
@pytest.mark.req("SETUP-FLAGS", "SETUP-ATOMIC", "DAEMON-START", "DAEMON-STATUS", "FIRST-LAUNCH")
def test_unattended_setup_rerun_restarts_the_server_and_keeps_a_backup(
    home: Path, cli: typer.Typer
) -> None:
    listen = f"127.0.0.1:{free_port()}"
    try:
        first = run(
            cli,
            "init",
            "--mode",
            "byok",
            "--yes",
            "--listen",
            listen,
            "--json",
            XAI_API_KEY="xai-from-the-environment",
        )
        assert first.exit_code == 0, first.output
        result = json.loads(first.stdout)
        assert result["mode"] == "byok" and result["server"]["running"] is True
        assert "✓ Health check passed" in first.stderr  # with --json the lines go to stderr
        assert "XAI_API_KEY=xai-from-the-environment" in (home / ".env").read_text()
        assert yaml.safe_load((home / "bitrouter.yaml").read_text())["providers"] == {
            "xai": {"api_key": "${XAI_API_KEY}"}
        }
        old_pid = result["server"]["pid"]

        second = run(
            cli,
            "init",
            "--mode",
            "default",
            "--remote-url",
            "http://127.0.0.1:9",
            "--yes",
            "--no-wallet",
            "--no-agent",
            "--listen",
            listen,
        )
        assert second.exit_code == 0, second.output
        assert "! The remote gateway at http://127.0.0.1:9 does not answer now" in second.stdout
        lines = second.stdout.splitlines()
        at = lines.index(f"✓ Configuration saved to {home / 'bitrouter.yaml'}")
        assert lines[at + 1 : at + 3] == [
            f"✓ API server listening on {listen}",
            "✓ Health check passed",
        ]
        backups = list(home.glob("bitrouter.yaml.bak-*"))
        assert len(backups) == 1 and yaml.safe_load(backups[0].read_text())["mode"] == "byok"
        config = yaml.safe_load((home / "bitrouter.yaml").read_text())
        assert config["mode"] == "default" and config["remote"]["url"] == "http://127.0.0.1:9"
        assert config["providers"] == {"xai": {"api_key": "${XAI_API_KEY}"}}  # kept

        status = run(cli, "status", "--json")
        assert status.exit_code == 0
        state = json.loads(status.stdout)
        assert state["running"] and state["health"]["mode"] == "default"
        assert state["pid"] != old_pid and gone(old_pid)  # restarted with the new config

        assert run(cli, "stop").exit_code == 0
        stopped = run(cli, "status")
        assert stopped.exit_code == 3 and stopped.stdout.startswith("○ stopped")
        assert gone(state["pid"])

        # `bitrouter` with a configuration and no terminal: starts the server, says where.
        again = run(cli)
        assert again.exit_code == 0, again.output
        assert f"✓ API server listening on {listen}" in again.stdout
        health = check_health(f"http://{listen}")
        assert health is not None and health["mode"] == "default"
    finally:
        stop_everything(home)
    assert check_health(f"http://{listen}") is None


@pytest.mark.req("DAEMON-STATUS", "DAEMON-STOP")
def test_status_and_stop_without_a_server(home: Path, cli: typer.Typer) -> None:
    (home / "bitrouter.yaml").write_text(f"server:\n  port: {free_port()}\n")
    status = run(cli, "status", "--json")
    assert status.exit_code == 3
    assert json.loads(status.stdout)["running"] is False
    stop = run(cli, "stop")
    assert stop.exit_code == 0 and "No background server" in stop.stdout
    (home / "bitrouter.yaml").unlink()
    start = run(cli, "start")
    assert start.exit_code == 1 and "bitrouter init" in start.stderr
