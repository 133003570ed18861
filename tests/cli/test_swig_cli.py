"""The product document's flow as a user types it, on the embedded Solana and Tempo chains:
``account --generate-key`` → ``swig create-wallet`` → ``swig fund`` → ``swig derive-agent`` →
``keygen --agent`` → calls charged with that token, settled on-chain, and visible in
``swig list-agents``, the balance view, the transactions and ``ledger reconcile``."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trio
import typer
from typer.testing import CliRunner, Result

from gateway.chains._daemon import running_node, stop_node
from gateway.cli import _account, _keygen, _reconcile, _swig
from gateway.identity import (
    AccessPolicy,
    Keystore,
    MemoryRevocationStore,
    SystemClock,
    Verifier,
)
from gateway.ledger import open_ledger
from gateway.metering import LedgerSpendGuard
from gateway.onchain import open_onchain
from gateway.settings import AuthSettings, load_settings

Run = Callable[..., Result]
USDC = 1_000_000
LABEL = "my-coding-agent"


@pytest.fixture(scope="module")
def user_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The user's home for the whole flow; its embedded chains are stopped at the end."""
    home = tmp_path_factory.mktemp("home")
    try:
        yield home
    finally:
        for name in ("solana", "tempo"):
            stop_node(home, name)
            assert running_node(home, name) is None


@pytest.fixture(scope="module")
def cli(user_home: Path) -> Run:
    """``cli("swig", "balance")`` runs a command in-process in the user's home."""
    app = typer.Typer(pretty_exceptions_enable=False)
    for module in (_account, _keygen, _swig):
        module.register(app)
    ledger = typer.Typer()
    ledger.command(name="reconcile")(_reconcile.reconcile)
    app.add_typer(ledger, name="ledger")
    runner = CliRunner()
    env = {"BITROUTER_HOME": str(user_home), "BITROUTER_URL": ""}
    return lambda *args: runner.invoke(app, list(args), env=env)


def _ok(result: Result) -> Any:
    assert result.exit_code == 0, result.stderr or result.output
    return json.loads(result.stdout) if result.stdout.lstrip().startswith(("{", "[")) else None


def _serve_calls(home: Path, token: str, *amounts: int) -> dict[str, Any]:
    """What the gateway does for calls made with ``token``: verify, reserve, charge, settle."""

    async def main() -> dict[str, Any]:
        settings = load_settings(home)
        keystore = Keystore(home)
        auth = AuthSettings()
        verifier = Verifier(
            auth, AccessPolicy(auth, keystore, clock=SystemClock()), MemoryRevocationStore()
        )
        async with (
            open_ledger(settings.database_url) as ledger,
            open_onchain(settings, ledger, keystore) as onchain,
        ):
            principal = await verifier.verify(token, scope="api")
            guard = LedgerSpendGuard(ledger, onchain.paying_authority)
            for amount in amounts:
                hold = await guard.reserve(
                    principal,
                    kind="model",
                    subject="moonshotai/kimi-k2.5",
                    amount=amount,
                    tokens=0,
                    request_id=secrets.token_hex(6),
                )
                await guard.settle(hold, amount, {})
            settled = await onchain.settle_now()
            balance = await ledger.balance(await guard.payer(principal))
            return {
                "settled": settled,
                "balance": balance,
                "chain": await onchain.balance_lookup(principal.identity),
                "transactions": await onchain.transactions(principal.identity),
            }

    return trio.run(main)


@pytest.mark.req("GW-CLI-1", "GW-CLI-2", "GW-SETTLE-1", "GW-VIEW-1")
@pytest.mark.parametrize(("chain", "family"), [("solana", "solana"), ("tempo", "evm")])
def test_the_product_flow_charges_settles_and_shows(
    cli: Run, user_home: Path, chain: str, family: str
) -> None:
    if not Keystore(user_home).has_master():
        created = _ok(cli("account", "--generate-key", "--json"))
        assert created["created"] is True
    master = Keystore(user_home).master()
    owner = master.address("solana" if chain == "solana" else "evm")

    wallet = _ok(cli("swig", "create-wallet", "--chain", chain, "--json"))
    assert wallet["owner"] == owner and wallet["funding"]
    before = wallet["usdc_micro_usd"]
    funded = _ok(cli("swig", "fund", "--amount", "100000000", "--chain", chain, "--json"))
    assert funded["usdc_micro_usd"] == before + 100 * USDC and funded["tx_id"]

    expires = int(time.time()) + 30 * 86400
    derived = cli(
        "swig", "derive-agent", "--label", LABEL, "--per-tx-cap", "5000000",
        "--cumulative-cap", "50000000", "--expires-at", str(expires), "--chain", chain,
    )  # fmt: skip
    assert derived.exit_code == 0, derived.stderr
    assert f"✓ agent {LABEL}" in derived.stdout and "transaction" in derived.stdout
    assert "waiting for confirmation" in derived.stderr

    token = cli("keygen", "--agent", LABEL, "--chain", family, "--name", f"agent-{chain}")
    assert token.exit_code == 0, token.stderr
    served = _serve_calls(user_home, token.stdout.strip(), 3 * USDC, 2 * USDC, 4 * USDC)

    assert (served["settled"].payments, served["settled"].amount) == (2, 9 * USDC)
    authority = served["balance"].authority
    assert authority is not None and (authority.spent, authority.settled) == (9 * USDC, 9 * USDC)
    assert served["balance"].remaining == 5 * USDC  # the per-tx cap binds; 41 USD remain in all
    (agent_view,) = served["chain"]["agents"]
    assert (agent_view["paid"], agent_view["remaining"]) == (9 * USDC, 41 * USDC)
    assert served["chain"]["wallets"][0]["address"] == owner
    assert {t["status"] for t in served["transactions"]} == {"settled"}
    assert sum(t["amount_micro_usd"] for t in served["transactions"]) == 9 * USDC

    listed = _ok(cli("swig", "list-agents", "--chain", chain, "--json"))
    (mine,) = [a for a in listed if a["label"] == LABEL]
    assert (mine["status"], mine["paid"], mine["remaining"]) == ("active", 9 * USDC, 41 * USDC)
    assert (mine["per_tx_cap"], mine["cumulative_cap"], mine["expires_at"]) == (
        5 * USDC,
        50 * USDC,
        expires,
    )
    reconciled = _ok(cli("ledger", "reconcile", "--json"))
    assert reconciled["ok"] is True and reconciled["onchain_paid"] == reconciled["ledger_settled"]

    # A restarted chain keeps balances and authorities.
    stop_node(user_home, chain)
    again = _ok(cli("swig", "list-agents", "--chain", chain, "--json"))
    assert [a for a in again if a["label"] == LABEL] == [mine]
    shown = cli("swig", "balance", "--chain", chain)
    assert shown.exit_code == 0 and owner in shown.stdout and LABEL in shown.stdout

    revoked = _ok(cli("swig", "revoke-agent", "--label", LABEL, "--chain", chain, "--json"))
    assert revoked[0]["revoked"] is True and revoked[0]["tx_id"]
    after = _ok(cli("swig", "list-agents", "--chain", chain, "--json"))
    assert [a["status"] for a in after if a["label"] == LABEL] == ["revoked"]


@pytest.mark.req("GW-CLI-2")
def test_failures_are_one_line(cli: Run, user_home: Path) -> None:
    if not Keystore(user_home).has_master():
        _ok(cli("account", "--generate-key"))
    past = cli(
        "swig", "derive-agent", "--label", "late", "--per-tx-cap", "1", "--cumulative-cap", "2",
        "--expires-at", "1000", "--chain", "solana",
    )  # fmt: skip
    assert past.exit_code == 1
    assert past.stderr == "bitrouter: --expires-at 1000 is not in the future\n"
    caps = cli(
        "swig", "derive-agent", "--label", "x", "--per-tx-cap", "3", "--cumulative-cap", "2",
        "--expires-at", str(int(time.time()) + 60),
    )  # fmt: skip
    assert caps.stderr == "bitrouter: --per-tx-cap must not be above --cumulative-cap\n"
    unknown = cli("swig", "revoke-agent", "--label", "nobody", "--chain", "solana")
    assert unknown.exit_code == 1 and unknown.stderr.count("\n") == 1
    assert "nobody" in unknown.stderr
    bad = cli("swig", "balance", "--chain", "bitcoin")
    assert bad.stderr == "bitrouter: --chain must be 'solana' or 'tempo', not 'bitcoin'\n"
    reserved = cli(
        "swig", "derive-agent", "--label", "operator", "--per-tx-cap", "1", "--cumulative-cap",
        "1", "--expires-at", str(int(time.time()) + 60), "--chain", "solana",
    )  # fmt: skip
    assert reserved.exit_code == 1 and "reserved" in reserved.stderr
