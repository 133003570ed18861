"""The dashboard against a stand-in gateway on loopback: what it reads, and what an 80×24
terminal shows."""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path

import pytest

import gateway.dashboard
from gateway.dashboard import GatewayReader
from gateway.dashboard._format import bar, moment, usd
from gateway.dashboard._views import spend_lines
from gateway.identity import Keystore, mint_token, read_unverified
from tests.cli.terminal import ROOT, Terminal, bitrouter, clean_env
from tests.dashboard.fake_gateway import SUMMARY, fake_gateway


def test_public_api_is_declared() -> None:
    for name in gateway.dashboard.__all__:
        value = getattr(gateway.dashboard, name)
        assert not (inspect.isclass(value) or inspect.isfunction(value)) or value.__doc__, name


@pytest.mark.req("DASH-VIEW")
def test_money_is_exact_dollars_and_bars_scale_to_the_largest() -> None:
    assert [usd(5_000_000), usd(1_234), usd(1_234_567), usd(0), usd(None)] == [
        "$5.00",
        "$0.001234",
        "$1.234567",
        "$0.00",
        "unlimited",
    ]
    assert usd(1_000_000_000_000) == "$1,000,000.00"
    assert bar(100, 100, 10) == "█" * 10 and bar(55, 100, 10) == "█████▌"
    assert bar(1, 1_000_000, 10) == "▏" and bar(0, 100, 10) == ""
    assert moment(4102444800, date_only=True) == "2100-01-01"
    assert moment("2100-01-01T10:00:00Z", now=4102444800) == "10:00:00"
    assert moment(None) == "—"


@pytest.mark.req("DASH-VIEW")
def test_spend_by_model_is_a_bar_per_model_largest_first_within_the_width() -> None:
    from gateway.dashboard._wire import Summary

    lines = spend_lines(Summary.model_validate(SUMMARY), 76, {})
    assert lines[0].startswith("anthropic:claude-sonnet-4 ") and "$0.934567" in lines[0]
    assert lines[1].startswith("openai:gpt-4o-mini ") and "$0.30" in lines[1]
    assert lines[0].count("█") > lines[1].count("█") > 0
    assert lines[-1].startswith("Total") and lines[-1].endswith("$1.234567")
    assert all(len(line) <= 76 for line in lines)


@pytest.mark.req("DASH-HTTP")
def test_reader_uses_a_master_key_token_and_survives_a_missing_route(home: Path) -> None:
    keystore = Keystore(home)
    master, _ = keystore.generate_master()
    with fake_gateway() as fake:
        fake.missing.add("/v1/transactions")
        reader = GatewayReader(fake.url, lambda: mint_token(keystore, ttl_seconds=3600))
        snapshot = asyncio.run(reader.snapshot())
        seen = list(fake.seen)
    assert snapshot.health is not None and snapshot.health.version == "9.9.9"
    assert snapshot.balance is not None and snapshot.balance.spent_micro_usd == 1_234_567
    assert snapshot.usage is not None and len(snapshot.usage.data) == 3
    assert snapshot.summary is not None and snapshot.summary.total_cost_micro_usd == 1_234_567
    assert snapshot.transactions is None
    assert snapshot.errors == {"transactions": "not available on this gateway (HTTP 404)"}
    paths = sorted(path for path, _ in seen)
    assert paths == sorted(
        [
            "/health",
            "/v1/balance",
            "/v1/usage?limit=50",
            "/v1/usage/summary?group_by=model",
            "/v1/transactions",
        ]
    )
    tokens = {auth for path, auth in seen if path != "/health"}
    assert len(tokens) == 1
    bearer = tokens.pop()
    assert bearer is not None and bearer.startswith("Bearer ")
    _, claims = read_unverified(bearer.removeprefix("Bearer "))
    assert master.solana_address in str(claims.get("iss")) and claims.get("scope") == "api"
    assert dict(seen)["/health"] is None  # health is read without a token


@pytest.mark.req("DASH-VIEW", "DASH-KEYS", "DASH-HTTP")
def test_dashboard_in_80x24_shows_the_known_figures_and_quits_on_q(home: Path) -> None:
    Keystore(home).generate_master()
    with fake_gateway() as fake:
        argv = bitrouter("dashboard", "--url", fake.url, "--interval", "1")
        term = Terminal(argv, clean_env(home), ROOT)
        try:
            overview = term.wait_for(lambda s: "active" in s and "$25.50" in s)
            for figure in (
                "● ok 127.0.0.1:1 · v9.9.9 · mode byok",
                "Spent $1.234567 · Reserved $0.25 · Settled on-chain $1.00",
                "Remaining unlimited · Expires never · 3 requests",
                "solana  So1WaLLe…22222222  $100.00",
                "tempo   0xababab…abababab  $25.50",
                "AgEn…1111  solana  $5.00   $50.00  $1.234567  $48.765433  2100-01-01  active",
            ):
                assert figure in overview, figure
            assert all(len(line) <= 80 for line in overview.splitlines())

            term.press("2")
            spend = term.wait_for("Spend by model\n")
            assert "anthropic:claude-sonnet-4 ███" in spend and "$0.934567     2 req" in spend
            assert "openai:gpt-4o-mini" in spend and "$0.30     1 req" in spend

            term.press("3")
            usage = term.wait_for(lambda s: "Tokens in/out" in s and "80 ms" in s)
            assert "anthropic:claude-sonnet-4  1,200/300      $0.734567  ✓" in usage
            assert "req_0 · chat · anthropic:claude-sonnet-4 via anthropic · 80 ms · ok" in usage

            term.press("4")
            txs = term.wait_for("confirmed")
            assert "solana  AgEn…1111  $1.00   confirmed  5TxSiG…999999" in txs

            term.press("?")
            help_screen = term.wait_for("q  Quit (the server keeps running")
            assert "BitRouter dashboard — keys" in help_screen and "?  This help" in help_screen
            term.press("\x1b")
            term.wait_for(lambda s: "BitRouter dashboard — keys" not in s)
            # Live: it reads the gateway again by itself.
            term.wait_for(lambda _: [p for p, _ in fake.seen].count("/v1/balance") >= 3)
            term.press("q")
            assert term.wait_exit(timeout=30) == 0
        finally:
            term.close()
