"""The race: many concurrent calls for one identity whose budget fits only some of them, served
by real gateway processes — one on SQLite, and two sharing Postgres.

Each round is a fresh agent identity with a token ``budget`` (the cap). Its calls go out all at
once (a quarter of them streamed), spread over the gateways. The cap never passes: what the
ledger charged is at most the cap and equals what the granted responses reported; every
refusal is a 402 ``budget_exhausted`` that went nowhere upstream (the simulator saw exactly the
granted calls); nothing stays reserved; and the ledger's books check out.

``BITROUTER_SLOW_TESTS=1`` runs the acceptance size: 1,000 calls, 20 rounds, per store.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import trio

from gateway.identity import Keystore, mint_token
from gateway.ledger import open_ledger
from tests.e2e.conftest import SLOW
from tests.e2e.stack import (
    GatewayProcess,
    SimulatorProcess,
    Stack,
    chat_body,
    check_report,
    ledger_check,
    write_home,
)
from tests.e2e.wire import Reply, post, request

CALLS = 1_000 if SLOW else 200
ROUNDS = 20 if SLOW else 3
MAX_TOKENS = 100
# A call reserves 8 prompt + 100 × 2 output µUSD = 208 and costs 8 + 24 × 2 = 56 (the
# simulator's replies are 24 tokens): between 24 and 89 calls fit, depending on how many
# reservations are open at once. The rest must be refused.
CAP = 5_000


async def _round(
    gateways: list[GatewayProcess],
    sim: SimulatorProcess,
    keystore: Keystore,
    label: str,
    ledger_url: str,
) -> dict[str, int | float]:
    token = mint_token(keystore, agent=label, budget=CAP)
    before = await sim.chat_requests()
    replies: list[Reply] = []

    async def call(i: int) -> None:
        body = chat_body("Hi", MAX_TOKENS, stream=i % 4 == 3)
        replies.append(
            await post(gateways[i % len(gateways)].url, "/v1/chat/completions", token, body)
        )

    started = time.monotonic()
    with trio.fail_after(600):
        async with trio.open_nursery() as nursery:
            for i in range(CALLS):
                nursery.start_soon(call, i)
    seconds = time.monotonic() - started

    granted = [r for r in replies if r.status == 200]
    refused = [r for r in replies if r.status != 200]
    assert {r.status for r in refused} <= {402}, [r.body[:200] for r in refused if r.status != 402]
    assert {r.json()["error"]["code"] for r in refused} <= {"budget_exhausted"}
    assert granted and refused
    charged = 0
    for reply in granted:
        if reply.headers["content-type"].startswith("text/event-stream"):
            assert reply.done
            charged += reply.events()[-1]["usage"]["cost_micro_usd"]
        else:
            charged += reply.json()["usage"]["cost_micro_usd"]
    assert await sim.chat_requests() - before == len(granted)  # refusals went nowhere upstream

    balance = (await request(gateways[-1].url, "GET", "/v1/balance", token)).json()
    assert balance["reserved_micro_usd"] == 0
    assert balance["spent_micro_usd"] == charged <= CAP
    assert balance["requests"] == len(granted)
    async with open_ledger(ledger_url, recover=False) as ledger:
        report = await ledger.check()
    assert report.ok, report.breaches
    return {
        "granted": len(granted),
        "refused": len(refused),
        "charged": charged,
        "seconds": round(seconds, 1),
    }


async def _race(stack: Stack, home: Path, ledger_url: str | None, processes: int) -> None:
    sim = stack.simulator()
    keystore = write_home(home, sim.url, database_url=ledger_url)
    for n in range(ROUNDS):  # before the gateways start: they read the keystore's agents then
        keystore.create_agent(f"race{n}")
    gateways = stack.gateways(home, processes)
    url = ledger_url or f"sqlite:///{home / 'bitrouter.db'}"
    rounds = []
    for n in range(ROUNDS):
        rounds.append(await _round(gateways, sim, keystore, f"race{n}", url))
        print(f"round {n}: {rounds[-1]} (cap {CAP} µUSD, {CALLS} calls, {processes} gateways)")
    done = ledger_check(home, stack.env)
    assert done.returncode == 0, done.stdout + done.stderr
    report = check_report(done)
    assert report["ok"] and report["open_reservations"] == 0
    assert report["entries"] == sum(r["granted"] for r in rounds)


@pytest.mark.req("SPEND-3")
async def test_the_cap_holds_against_concurrent_calls_on_sqlite(
    stack: Stack, tmp_path: Path
) -> None:
    await _race(stack, tmp_path / "home", None, 1)


@pytest.mark.req("SPEND-3")
@pytest.mark.postgres
async def test_the_cap_holds_across_two_gateways_sharing_postgres(
    pg_url: str, stack: Stack, tmp_path: Path
) -> None:
    await _race(stack, tmp_path / "home", pg_url, 2)
