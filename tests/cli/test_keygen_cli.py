from __future__ import annotations

import json
import stat
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from gateway.cli import _account, _keygen, _keys
from gateway.errors import BadRequest, KeystoreError
from gateway.identity import (
    AccessPolicy,
    Keystore,
    MemoryRevocationStore,
    Principal,
    SystemClock,
    Verifier,
    read_unverified,
)
from gateway.settings import AuthSettings

Run = Callable[..., Result]


@pytest.fixture
def cli(home: Path) -> Run:
    """``cli("keygen", "--exp", "1h")`` runs the command in-process against the test's home."""
    app = typer.Typer(pretty_exceptions_enable=False)
    for module in (_account, _keygen, _keys):
        module.register(app)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args), env={"BITROUTER_HOME": str(home)})


@pytest.fixture
def master_home(cli: Run, home: Path) -> Path:
    assert cli("account", "--generate-key").exit_code == 0
    return home


async def verify(home: Path, token: str, scope: str = "api") -> Principal:
    settings = AuthSettings()
    policy = AccessPolicy(settings, Keystore(home), clock=SystemClock())
    verifier = Verifier(settings, policy, MemoryRevocationStore())
    return await verifier.verify(token, scope="admin" if scope == "admin" else "api")


@pytest.mark.req("AUTH-CLI-2")
async def test_keygen_prints_and_saves_a_verifiable_token(cli: Run, master_home: Path) -> None:
    result = cli("keygen", "--exp", "30d", "--scope", "api", "--name", "default")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert result.stdout.count("\n") == 1 and token.count(".") == 2
    path = master_home / "tokens" / "default.jwt"
    assert path.read_text().strip() == token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    principal = await verify(master_home, token)
    key = Keystore(master_home).master()
    assert principal.identity == key.caip10("solana")
    assert principal.claims.exp is not None
    assert abs(principal.claims.exp - (time.time() + 30 * 86400)) < 60
    assert principal.claims.jti and principal.claims.models is None


@pytest.mark.req("AUTH-CLI-2")
async def test_keygen_claims_from_options(cli: Run, master_home: Path) -> None:
    result = cli(
        "keygen",
        "--name",
        "limited",
        "--exp",
        "12h",
        "--models",
        "openai/*, anthropic:claude-*",
        "--tools",
        "files__*",
        "--budget",
        "5000000",
        "--budget-scope",
        "session",
        "--budget-range",
        "rounds:10",
        "--chain",
        "evm",
        "--json",
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    principal = await verify(master_home, out["token"])
    claims = principal.claims
    assert principal.identity == Keystore(master_home).master().caip10("evm")
    assert claims.models == ("openai/*", "anthropic:claude-*") and claims.tools == ("files__*",)
    assert claims.budget == 5_000_000 and claims.budget_scope == "session"
    assert claims.budget_range is not None and claims.budget_range.model_dump() == {
        "type": "rounds",
        "count": 10,
    }
    assert out["claims"]["budget_range"] == {"type": "rounds", "count": 10}
    assert out["path"].endswith("tokens/limited.jwt")
    window = cli("keygen", "--name", "w", "--budget", "1", "--budget-range", "duration:3600")
    assert read_unverified(window.stdout.strip())[1]["budget_range"] == {
        "type": "duration",
        "seconds": 3600,
    }


@pytest.mark.req("AUTH-CLI-2")
async def test_keygen_with_an_agent_key(cli: Run, master_home: Path) -> None:
    agent = Keystore(master_home).create_agent("my-coding-agent")
    result = cli("keygen", "--name", "agent", "--agent", "my-coding-agent", "--chain", "evm")
    assert result.exit_code == 0, result.output
    principal = await verify(master_home, result.stdout.strip())
    assert principal.identity == agent.caip10("evm") and principal.agent == "my-coding-agent"
    tempo = cli("keygen", "--name", "agent2", "--agent", "my-coding-agent", "--chain", "tempo")
    assert tempo.exit_code == 0, tempo.output
    assert (await verify(master_home, tempo.stdout.strip())).identity == agent.caip10("evm")
    missing = cli("keygen", "--name", "x", "--agent", "nobody")
    assert isinstance(missing.exception, KeystoreError)
    assert "no agent key labelled 'nobody'" in missing.exception.message


@pytest.mark.req("AUTH-CLI-2")
@pytest.mark.parametrize(
    ("text", "seconds"), [("12h", 43200), ("15m", 900), ("3600s", 3600), ("2d", 172800)]
)
def test_exp_durations(cli: Run, master_home: Path, text: str, seconds: int) -> None:
    result = cli("keygen", "--name", "t", "--exp", text)
    _, claims = read_unverified(result.stdout.strip())
    assert claims["exp"] - claims["iat"] == seconds


@pytest.mark.req("AUTH-CLI-2")
def test_exp_unix_time_and_never(cli: Run, master_home: Path) -> None:
    at = int(time.time()) + 1000
    _, claims = read_unverified(cli("keygen", "--name", "a", "--exp", str(at)).stdout.strip())
    assert claims["exp"] == at
    _, claims = read_unverified(cli("keygen", "--name", "b", "--exp", "never").stdout.strip())
    assert "exp" not in claims


@pytest.mark.req("AUTH-CLI-2")
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--exp", "never", "--scope", "admin"], "--exp never is refused for admin tokens"),
        (["--exp", "1000"], "in the past"),
        (["--exp", "soon"], "--exp must be like 30d"),
        (["--exp", "0d"], "positive"),
        (["--scope", "root"], "--scope must be 'api' or 'admin'"),
        (["--chain", "btc"], "--chain must be"),
        (["--budget-range", "rounds:3"], "need --budget"),
        (["--budget", "1", "--budget-range", "rounds:0"], "--budget-range must be"),
        (["--budget", "1", "--budget-range", "weeks:2"], "--budget-range must be"),
        (["--budget", "1", "--budget-scope", "team"], "--budget-scope must be"),
        (["--models", " , "], "--models needs at least one pattern"),
        (["--models", "bad pattern"], "--models"),
        (["--scope", "admin", "--agent", "a"], "drop --agent"),
        (["--name", "../escape"], "token name"),
    ],
)
def test_bad_options_fail_with_one_line(
    cli: Run, master_home: Path, args: list[str], message: str
) -> None:
    result = cli("keygen", *args)
    assert result.exit_code == 1 and isinstance(result.exception, BadRequest), result.output
    assert message in result.exception.message and "\n" not in result.exception.message
    assert not (master_home / "tokens").exists() or not any((master_home / "tokens").iterdir())


@pytest.mark.req("AUTH-CLI-2")
async def test_admin_token_and_existing_names(cli: Run, master_home: Path) -> None:
    result = cli("keygen", "--name", "ops", "--scope", "admin", "--exp", "15m")
    assert (await verify(master_home, result.stdout.strip(), "admin")).scope == "admin"
    again = cli("keygen", "--name", "ops")
    assert isinstance(again.exception, KeystoreError) and "--force" in again.exception.message
    assert cli("keygen", "--name", "ops", "--force").exit_code == 0


def test_keygen_needs_a_master_key(cli: Run) -> None:
    result = cli("keygen")
    assert isinstance(result.exception, KeystoreError)
    assert "bitrouter account --generate-key" in result.exception.message
