from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trio
import typer
from typer.testing import CliRunner, Result

from gateway.cli import _account, _keygen, _keys
from gateway.errors import AuthError, BadRequest, NotFound, UpstreamUnavailable
from gateway.identity import (
    AccessPolicy,
    Claims,
    Keystore,
    MemoryRevocationStore,
    SystemClock,
    TokenCodec,
    Verifier,
    token_hash,
)
from gateway.settings import AuthSettings

Run = Callable[..., Result]


@pytest.fixture
def cli(home: Path) -> Run:
    """``cli("keys", "--list")`` runs the command in-process against the test's home."""
    app = typer.Typer(pretty_exceptions_enable=False)
    for module in (_account, _keygen, _keys):
        module.register(app)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args), env={"BITROUTER_HOME": str(home)})


@pytest.fixture
def tokens(cli: Run, home: Path) -> dict[str, str]:
    """Two saved tokens: ``default`` and ``limited``."""
    assert cli("account", "--generate-key").exit_code == 0
    made = {
        "default": cli("keygen", "--name", "default").stdout.strip(),
        "limited": cli(
            "keygen",
            "--name",
            "limited",
            "--models",
            "openai/*",
            "--budget",
            "2500000",
            "--budget-scope",
            "account",
            "--budget-range",
            "duration:86400",
            "--chain",
            "evm",
        ).stdout.strip(),
    }
    assert all(t.count(".") == 2 for t in made.values())
    return made


@pytest.mark.req("AUTH-CLI-3", "AUTH-SEC-1")
def test_list(cli: Run, home: Path, tokens: dict[str, str]) -> None:
    key = Keystore(home).master()
    plain = cli("keys", "--list")
    assert plain.exit_code == 0, plain.output
    for text in ("default", "limited", "openai/*", "2500000", "duration:86400", "api"):
        assert text in plain.stdout
    listed = json.loads(cli("keys", "--list", "--json").stdout)
    assert [e["name"] for e in listed] == ["default", "limited"]
    assert listed[0]["issuer"] == key.caip10("solana") and listed[0]["models"] is None
    assert listed[1]["issuer"] == key.caip10("evm") and listed[1]["budget"] == 2_500_000
    assert listed[1]["expired"] is False and isinstance(listed[1]["exp"], int)
    everything = plain.output + json.dumps(listed) + cli("keys").output
    for token in tokens.values():
        assert token not in everything and token.split(".")[2] not in everything


@pytest.mark.req("AUTH-CLI-3", "AUTH-SEC-1")
def test_show_reveals_the_token_only_when_asked(cli: Run, tokens: dict[str, str]) -> None:
    shown = json.loads(cli("keys", "--show", "limited", "--json").stdout)
    assert shown["alg"] == "EIP191K" and shown["claims"]["models"] == ["openai/*"]
    assert shown["token_hash"] == token_hash(tokens["limited"]) and "token" not in shown
    assert tokens["limited"] not in cli("keys", "--show", "limited").output
    revealed = json.loads(cli("keys", "--show", "limited", "--reveal", "--json").stdout)
    assert revealed["token"] == tokens["limited"]
    assert tokens["limited"] in cli("keys", "--show", "limited", "--reveal").stdout


@pytest.mark.req("AUTH-CLI-3")
def test_rm(cli: Run, home: Path, tokens: dict[str, str]) -> None:
    result = cli("keys", "--rm", "default")
    assert result.exit_code == 0 and not (home / "tokens" / "default.jwt").exists()
    gone = cli("keys", "--show", "default")
    assert isinstance(gone.exception, NotFound) and "no saved token named 'default'" in str(
        gone.exception.message
    )
    assert isinstance(cli("keys", "--rm", "default").exception, NotFound)


def test_one_action_at_a_time(cli: Run, tokens: dict[str, str]) -> None:
    result = cli("keys", "--show", "default", "--rm", "default")
    assert isinstance(result.exception, BadRequest) and "choose one of" in result.exception.message


class _Gateway:
    """A stand-in for the revocation route on loopback: records requests, answers ``status``."""

    def __init__(self, status: int = 200) -> None:
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                outer.requests.append((self.path, self.headers["authorization"], body))
                reply = (
                    {"revoked": True}
                    if status < 400
                    else {
                        "error": {"message": "admin token refused", "type": "authentication_error"}
                    }
                )
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> _Gateway:
        threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway() -> Iterator[_Gateway]:
    with _Gateway() as running:
        yield running


async def _admin_principal_of(home: Path, authorization: str) -> Any:
    settings = AuthSettings()
    verifier = Verifier(
        settings,
        AccessPolicy(settings, Keystore(home), clock=SystemClock()),
        MemoryRevocationStore(),
    )
    assert authorization.startswith("Bearer ")
    return await verifier.verify(authorization.removeprefix("Bearer "), scope="admin")


@pytest.mark.req("AUTH-CLI-3", "AUTH-VER-5")
async def test_revoke_posts_the_jti_with_a_short_admin_token(
    cli: Run, home: Path, tokens: dict[str, str], gateway: _Gateway
) -> None:
    result = await trio.to_thread.run_sync(
        lambda: cli("keys", "--revoke", "limited", "--url", gateway.url, "--json")
    )
    assert result.exit_code == 0, result.output
    ((path, authorization, body),) = gateway.requests
    jti = json.loads(cli("keys", "--show", "limited", "--json").stdout)["claims"]["jti"]
    assert path == "/v1/admin/revocations" and body == {"jti": jti}
    assert json.loads(result.stdout) == {"revoked": "limited", "by": "jti", "jti": jti}
    admin = await _admin_principal_of(home, authorization)
    assert admin.identity == Keystore(home).master().caip10("solana")
    assert admin.claims.exp is not None and admin.claims.iat is not None
    assert admin.claims.exp - admin.claims.iat == 300
    assert authorization.removeprefix("Bearer ") not in result.output


@pytest.mark.req("AUTH-CLI-3", "AUTH-VER-5")
async def test_revoke_by_hash_when_there_is_no_jti(
    cli: Run, home: Path, tokens: dict[str, str], gateway: _Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = Keystore(home).master()
    bare = TokenCodec().sign(
        Claims(
            iss=key.caip10("solana"), chain="solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp", scope="api"
        ),
        key,
    )
    (home / "tokens" / "external.jwt").write_text(bare + "\n")
    monkeypatch.setenv("BITROUTER_URL", gateway.url)  # the default when --url is absent
    result = await trio.to_thread.run_sync(lambda: cli("keys", "--revoke", "external"))
    assert result.exit_code == 0, result.output
    assert gateway.requests[0][2] == {"token_hash": token_hash(bare)}


async def test_revoke_reports_the_gateways_refusal_in_one_line(
    cli: Run, tokens: dict[str, str]
) -> None:
    with _Gateway(status=401) as refusing:
        result = await trio.to_thread.run_sync(
            lambda: cli("keys", "--revoke", "default", "--url", refusing.url)
        )
    assert isinstance(result.exception, AuthError)
    assert result.exception.message == "the gateway refused the revocation: admin token refused"


async def test_revoke_without_a_gateway(cli: Run, tokens: dict[str, str]) -> None:
    with _Gateway() as stopped:
        url = stopped.url
    result = await trio.to_thread.run_sync(lambda: cli("keys", "--revoke", "default", "--url", url))
    assert isinstance(result.exception, UpstreamUnavailable)
    assert f"cannot reach the gateway at {url}" in result.exception.message
