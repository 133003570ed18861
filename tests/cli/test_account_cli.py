from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from gateway.cli import _account, _keygen, _keys
from gateway.errors import BadRequest, KeystoreError
from gateway.identity import Keystore

Run = Callable[..., Result]


@pytest.fixture
def cli(home: Path) -> Run:
    """``cli("keygen", "--exp", "1h")`` runs the command in-process against the test's home."""
    app = typer.Typer(pretty_exceptions_enable=False)
    for module in (_account, _keygen, _keys):
        module.register(app)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args), env={"BITROUTER_HOME": str(home)})


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def seed_hex(path: Path) -> str:
    return str(json.loads(path.read_text())["seed"])


@pytest.mark.req("AUTH-KEY-1", "AUTH-CLI-1")
def test_generate_key_prints_both_addresses(cli: Run, home: Path) -> None:
    result = cli("account", "--generate-key")
    assert result.exit_code == 0, result.output
    key = Keystore(home).master()
    assert key.solana_address in result.stdout and key.evm_address in result.stdout
    assert mode(home / "keys") == 0o700 and mode(home / "keys" / "master.json") == 0o600
    assert seed_hex(home / "keys" / "master.json") not in result.output


@pytest.mark.req("AUTH-KEY-1", "AUTH-CLI-1")
def test_generate_refuses_to_overwrite_and_force_keeps_a_backup(cli: Run, home: Path) -> None:
    assert cli("account", "--generate-key").exit_code == 0
    first = Keystore(home).master().solana_address
    refused = cli("account", "--generate-key")
    assert refused.exit_code == 1 and isinstance(refused.exception, KeystoreError)
    assert "--force" in refused.exception.message and "\n" not in refused.exception.message
    assert Keystore(home).master().solana_address == first

    replaced = cli("account", "--generate-key", "--force", "--json")
    assert replaced.exit_code == 0, replaced.output
    out = json.loads(replaced.stdout)
    backup = Path(out["backup"])
    assert mode(backup) == 0o600 and Keystore(home).master().solana_address != first
    assert out["master"]["solana"]["address"] != first
    assert seed_hex(backup) not in replaced.stdout
    assert seed_hex(home / "keys" / "master.json") not in replaced.stdout


@pytest.mark.req("AUTH-CLI-1", "AUTH-SEC-1")
def test_account_shows_addresses_and_caip10_forms(cli: Run, home: Path) -> None:
    cli("account", "--generate-key")
    agent = Keystore(home).create_agent("my-coding-agent")
    key = Keystore(home).master()
    plain = cli("account")
    assert plain.exit_code == 0
    for text in (key.caip10("solana"), key.caip10("evm"), "my-coding-agent", agent.evm_address):
        assert text in plain.stdout
    out = json.loads(cli("account", "--json").stdout)
    assert out["master"]["solana"] == {
        "address": key.solana_address,
        "caip10": key.caip10("solana"),
    }
    assert out["master"]["evm"]["caip10"] == f"eip155:4217:{key.evm_address}"
    assert out["agents"][0]["label"] == "my-coding-agent"
    assert out["agents"][0]["solana"]["address"] == agent.solana_address
    everything = plain.output + json.dumps(out)
    for secret in (key.solana_secret.hex(), key.evm_secret.hex(), agent.evm_secret.hex()):
        assert secret not in everything


def test_account_without_a_key_says_how_to_make_one(cli: Run) -> None:
    result = cli("account")
    assert result.exit_code == 1 and isinstance(result.exception, KeystoreError)
    assert "bitrouter account --generate-key" in result.exception.message


def test_force_alone_is_refused(cli: Run) -> None:
    result = cli("account", "--force")
    assert isinstance(result.exception, BadRequest)
    assert "--force only goes with --generate-key" in result.exception.message
