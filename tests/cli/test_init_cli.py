"""The setup wizard driven in an 80×24 pseudo-terminal: keys in, screen out, a real server after."""

from __future__ import annotations

import json
import re
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
import yaml
from openai import OpenAI
from typer.testing import CliRunner

from gateway.cli import _init
from gateway.errors import BadRequest
from gateway.identity import Keystore, mint_token
from gateway.setup import check_health
from tests.cli.terminal import (
    ROOT,
    Terminal,
    bitrouter,
    clean_env,
    free_port,
    gone,
    run_cli,
    stop_everything,
)

SECRET = "sk-typed-in-the-wizard-0123456789"
ANSI = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]")
TICKS = ("✓ Configuration saved to", "✓ API server listening on", "✓ Health check passed")


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[str]:
    """A provider simulator (``bitrouter sim``) on a free loopback port; yields its base URL."""
    process = subprocess.Popen(
        bitrouter("sim", "--port", "0", "--json"),
        cwd=ROOT,
        env=clean_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    text = ""
    while not text.rstrip().endswith("}"):
        line = process.stdout.readline()
        assert line, "the simulator did not start"
        text += line
    with process, process.stdout:
        yield str(json.loads(text)["base_url"])
        process.terminate()
        process.wait(timeout=30)


def chat(url: str, home: Path, model: str) -> tuple[str, str]:
    """One chat completion with the official SDK and a token of the home's master key."""
    token = mint_token(Keystore(home))
    with OpenAI(base_url=f"{url}/v1", api_key=token, max_retries=0) as client:
        reply = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "Hello!"}], max_tokens=20
        )
    return reply.choices[0].message.content or "", str((reply.model_extra or {}).get("provider"))


def assert_ticks(output: str, home: Path, port: int) -> None:
    """The three lines of the product document, in order and together."""
    lines = [ANSI.sub("", line).strip() for line in output.splitlines()]
    assert f"✓ Configuration saved to {home / 'bitrouter.yaml'}" in lines
    assert f"✓ API server listening on 127.0.0.1:{port}" in lines
    assert "✓ Health check passed" in lines
    at = [lines.index(next(x for x in lines if x.startswith(t))) for t in TICKS]
    assert at == [at[0], at[0] + 1, at[0] + 2]


@pytest.mark.slow
@pytest.mark.req("SETUP-WIZARD", "SETUP-BYOK", "DAEMON-START", "DAEMON-STOP", "FIRST-LAUNCH")
def test_byok_wizard_ends_with_three_ticks_and_a_working_chat(home: Path, simulator: str) -> None:
    port = free_port()
    # The OpenAI provider points at the simulator; its key is only what is typed below.
    env = clean_env(home, OPENAI_BASE_URL=f"{simulator}/p/openai/v1")
    term = Terminal(bitrouter("init", "--listen", f"127.0.0.1:{port}"), env, ROOT)
    try:
        screen = term.wait_for("Bring Your Own Key")
        assert "» Default (remote gateway, pay per token from your wallet)" in screen
        term.press("down", "enter")
        term.wait_for("OpenAI API key (OPENAI_API_KEY")
        term.press(SECRET, "enter")
        term.wait_for("Anthropic API key (ANTHROPIC_API_KEY")
        term.press("enter")
        term.wait_for("Google Gemini API key (GEMINI_API_KEY")
        term.press("enter")
        term.wait_for("✓ Health check passed", timeout=120)
        assert term.wait_exit() == 0
        assert_ticks(term.transcript.decode(), home, port)
        assert SECRET.encode() not in term.transcript  # masked on screen

        env_file = home / ".env"
        assert f"OPENAI_API_KEY={SECRET}" in env_file.read_text().splitlines()
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
        config = (home / "bitrouter.yaml").read_text()
        assert SECRET not in config
        assert yaml.safe_load(config)["providers"] == {"openai": {"api_key": "${OPENAI_API_KEY}"}}

        url = f"http://127.0.0.1:{port}"
        health = check_health(url)
        assert health is not None and health["mode"] == "byok" and "simulator" not in health
        text, provider = chat(url, home, "openai:gpt-4o-mini")
        # Served by "openai" with the key from .env (the server's environment has none).
        assert text.startswith("[simulated openai/") and provider == "openai"

        # `bitrouter` again: the server runs, so it opens the dashboard on it.
        dashboard = Terminal(bitrouter(), env, ROOT)
        try:
            dashboard.wait_for(f"● ok 127.0.0.1:{port} · v")
            dashboard.press("q")
            assert dashboard.wait_exit(timeout=30) == 0
        finally:
            dashboard.close()

        pid = int((home / "bitrouter.pid").read_text())
        stopped = run_cli("stop", env=env)
        assert stopped.returncode == 0 and f"✓ Server stopped (pid {pid})" in stopped.stdout
        assert gone(pid) and check_health(url) is None
        for node in home.glob("chains/*/node.json"):  # the embedded chains stop with it
            assert gone(json.loads(node.read_text())["pid"]), node
    finally:
        term.close()
        stop_everything(home)


@pytest.mark.slow
@pytest.mark.req("SETUP-WIZARD", "SETUP-DEFAULT", "SETUP-FLAGS")
def test_default_wizard_against_an_operator_gateway(home: Path, tmp_path: Path) -> None:
    operator = tmp_path / "operator"
    operator.mkdir(mode=0o700)
    op_port, port = free_port(), free_port()
    op_url = f"http://127.0.0.1:{op_port}"
    term = None
    try:
        # The operator: Bring Your Own Key, unattended, its models served by the simulator,
        # open to any wallet (the wizard keeps this section of an existing config).
        (operator / "bitrouter.yaml").write_text("auth:\n  policy: open\n", encoding="utf-8")
        app = typer.Typer()
        app.callback()(lambda: None)
        _init.register(app)
        setup = CliRunner().invoke(
            app,
            ["init", "--mode", "byok", "--yes", "--listen", f"127.0.0.1:{op_port}"],
            env={"BITROUTER_HOME": str(operator)},
        )
        assert setup.exit_code == 0, setup.output
        assert_ticks(setup.stdout, operator, op_port)

        term = Terminal(bitrouter("init", "--listen", f"127.0.0.1:{port}"), clean_env(home), ROOT)
        term.wait_for("Bring Your Own Key")
        term.press("enter")
        assert "https://api.bitrouter.ai" in term.wait_for("Remote gateway URL:")
        term.press("ctrl-u", op_url, "enter")
        term.wait_for("Tempo (USDC)")
        term.press("enter")
        term.wait_for("Create your on-chain wallet now?")
        term.press("y")
        term.wait_for("Derive an agent authority")
        term.press("y")
        for question in ("Agent label:", "Per-transaction cap", "Cumulative cap", "Expires"):
            term.wait_for(question)
            term.press("enter")
        term.wait_for("✓ Health check passed", timeout=240)
        assert term.wait_exit() == 0
        transcript = term.transcript.decode()
        assert_ticks(transcript, home, port)
        assert f"✓ Remote gateway at {op_url} answers" in transcript
        assert Keystore(home).has_master()

        # The wallet is made by `bitrouter swig create-wallet` (here on the embedded chain);
        # the operator publishes no settlement address, so no authority can name it yet.
        assert "Wallet not created" not in transcript
        assert (home / "chains" / "solana" / "node.json").exists()
        assert "! Agent authority not derived: the remote gateway does not say where" in transcript
        config = yaml.safe_load((home / "bitrouter.yaml").read_text())
        assert config["mode"] == "default"
        assert config["remote"] == {"url": op_url, "agent": None, "chain": "solana"}
        url = f"http://127.0.0.1:{port}"
        health = check_health(url)
        assert health is not None and health["mode"] == "default"
        text, _ = chat(url, home, "openai:gpt-4o-mini")
        assert text.startswith("[simulated ")  # answered by the operator's simulator
    finally:
        if term is not None:
            term.close()
        stop_everything(home, operator)


@pytest.mark.req("SETUP-ATOMIC", "SETUP-WIZARD")
def test_ctrl_c_in_the_wizard_changes_nothing(home: Path) -> None:
    # First launch: `bitrouter` in a home without a configuration is the wizard.
    term = Terminal(bitrouter(), clean_env(home), ROOT)
    try:
        term.wait_for("Bring Your Own Key")
        term.press("down", "enter")
        term.wait_for("OpenAI API key")
        term.press(SECRET, "enter")
        term.wait_for("Anthropic API key")
        term.press("ctrl-c")
        assert "Setup cancelled: nothing was changed." in term.wait_for("Setup cancelled")
        assert term.wait_exit() == 130
    finally:
        term.close()
    assert list(home.iterdir()) == []

    (home / "bitrouter.yaml").write_text("mode: byok\n# my notes\n")
    term = Terminal(bitrouter("init"), clean_env(home), ROOT)
    try:
        term.wait_for("Bring Your Own Key")
        term.press("enter")
        term.wait_for("Remote gateway URL:")
        term.press("ctrl-c")
        term.wait_for("Setup cancelled")
        assert term.wait_exit() == 130
    finally:
        term.close()
    assert (home / "bitrouter.yaml").read_text() == "mode: byok\n# my notes\n"
    assert [p.name for p in home.iterdir()] == ["bitrouter.yaml"]


@pytest.mark.req("SETUP-FLAGS")
def test_without_a_terminal_the_wizard_needs_yes(home: Path) -> None:
    app = typer.Typer()
    app.callback()(lambda: None)
    _init.register(app)
    runner = CliRunner()
    refused = runner.invoke(app, ["init"], env={"BITROUTER_HOME": str(home)})
    assert refused.exit_code == 1 and isinstance(refused.exception, BadRequest)
    assert "--yes" in refused.exception.message and "\n" not in refused.exception.message
    mixed = runner.invoke(app, ["init", "--mode", "byok", "--yes", "--remote-url", "http://x"])
    assert isinstance(mixed.exception, BadRequest) and "--mode default" in mixed.exception.message
    bad = runner.invoke(app, ["init", "--mode", "default", "--yes", "--remote-url", "ftp://x"])
    assert isinstance(bad.exception, BadRequest) and "--remote-url" in bad.exception.message
    assert list(home.iterdir()) == []
