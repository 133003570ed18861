"""The invariant check, and ``bitrouter ledger check`` printing it with its exit status."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import psycopg
import pytest
import trio
import typer
from typer.testing import CliRunner

from gateway.cli._ledger import register
from gateway.ledger import (
    AuthorityLimits,
    CallUsage,
    Ledger,
    Principal,
    ReserveRequest,
    TokenLimits,
    open_ledger,
)

LedgerFactory = Callable[..., AbstractAsyncContextManager[Ledger]]
WHO = Principal("solana:x:alice", "k", TokenLimits(10_000, "account"), "solana:x:agent")


async def some_activity(ledger: Ledger) -> None:
    await ledger.set_authority(AuthorityLimits("solana:x:agent", 5_000, 50_000))
    for cost in (1_000, 2_000, 3_000):
        held = await ledger.reserve(ReserveRequest(WHO, 4_000))
        await ledger.charge(held, cost, CallUsage("p"))
    await ledger.reserve(ReserveRequest(WHO, 500))


def tamper(url: str, *statements: str) -> None:
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            for statement in statements:
                conn.execute(statement)
        return
    with psycopg.connect(url, autocommit=True) as pg:
        for statement in statements:
            pg.execute(statement)  # type: ignore[arg-type]


@pytest.mark.req("SPEND-16")
async def test_a_consistent_ledger_passes(ledger: Ledger) -> None:
    await some_activity(ledger)
    report = await ledger.check()
    assert report.ok and report.breaches == ()
    assert (report.identities, report.authorities, report.entries) == (1, 1, 4)
    assert (report.open_reservations, report.spent, report.reserved) == (1, 6_000, 500)


@pytest.mark.req("SPEND-16")
async def test_each_broken_invariant_is_named(shared_url: str) -> None:
    async with open_ledger(shared_url) as ledger:
        await some_activity(ledger)
    tamper(
        shared_url,
        "UPDATE ledger_accounts SET spent = spent + 7",
        "UPDATE ledger_authorities SET reserved = 0",
        "UPDATE ledger_entries SET cost = 5100, hold = 5100 WHERE id = 1",
        "UPDATE ledger_buckets SET hold = hold - 1 WHERE level = 1",
    )
    async with open_ledger(shared_url) as ledger:
        report = await ledger.check()
    assert not report.ok
    text = "\n".join(report.breaches)
    assert "identity solana:x:alice: spent is 6007 µUSD but its entries sum to 10100" in text
    assert "authority solana:x:agent: reserved is 0 µUSD but its entries sum to 500" in text
    assert "entry 1: cost 5100 exceeds its reservation 4000" in text
    assert "over its budget of 0.010000 USD" in text  # 5100 + 2000 + 3000 + 500 > 10000
    assert "identity solana:x:alice: the level-1 bucket at" in text


@pytest.mark.req("SPEND-16")
async def test_expired_open_reservations_are_a_warning_until_recovered(
    make_ledger: LedgerFactory, autojump_clock: trio.testing.MockClock
) -> None:
    async with make_ledger(reservation_ttl_seconds=10) as ledger:
        await ledger.reserve(ReserveRequest(Principal("solana:x:bob"), 100))
        await trio.sleep(11)
        report = await ledger.check()
        assert report.ok
        assert report.warnings == (
            "1 open reservations are past their deadline (not yet recovered)",
        )
        await ledger.recover_expired()
        assert (await ledger.check()).warnings == ()


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.command("noop")(lambda: None)  # a group with one command would collapse into it
    register(app)
    return app


@pytest.mark.req("SPEND-16")
def test_cli_prints_the_report_and_fails_on_a_breach(home: Path) -> None:
    url = f"sqlite:///{home / 'bitrouter.db'}"

    async def fill() -> None:
        async with open_ledger(url) as ledger:
            await some_activity(ledger)

    trio.run(fill)
    runner = CliRunner()
    good = runner.invoke(_cli(), ["ledger", "check"])
    assert good.exit_code == 0, good.output
    assert good.stdout.startswith("ledger ok: 1 identities, 1 authorities, 4 entries (1 open)")
    as_json = runner.invoke(_cli(), ["ledger", "check", "--json"])
    assert json.loads(as_json.stdout)["ok"] is True

    tamper(url, "UPDATE ledger_accounts SET reserved = 0")
    bad = runner.invoke(_cli(), ["ledger", "check"])
    assert bad.exit_code == 1
    assert "breach: identity solana:x:alice: reserved is 0 µUSD" in bad.stdout
    assert bad.stderr == "bitrouter: the ledger has 1 breaches\n"
    assert json.loads(runner.invoke(_cli(), ["ledger", "check", "--json"]).stdout)["ok"] is False
