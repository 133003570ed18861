"""Limits that two gateway processes sharing Postgres must hold together: the per-minute request
rate, a budget counted over the last N requests, and a quote redeemed at most once."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trio

from gateway.identity import Keystore, RoundsRange, mint_token
from tests.e2e.conftest import private_schema, stack_printing_logs
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

PER_MINUTE = 10
CHAT = "/v1/chat/completions"
AGENTS = ("rate", "probe", "rounds", "plain", "quoter")


@dataclass
class Pair:
    """Two gateways on one Postgres ledger, one simulator, one home."""

    stack: Stack
    home: Path
    sim: SimulatorProcess
    keystore: Keystore
    a: GatewayProcess
    b: GatewayProcess


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    tmp = tmp_path_factory.mktemp("pair")
    with private_schema() as url, stack_printing_logs(tmp) as stack:
        sim = stack.simulator()
        home = tmp / "home"
        keystore = write_home(
            home, sim.url, database_url=url, limits={"requests_per_minute": PER_MINUTE}
        )
        for label in AGENTS:
            keystore.create_agent(label)
        a, b = stack.gateways(home, 2)
        yield Pair(stack, home, sim, keystore, a, b)
        done = ledger_check(home, stack.env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert check_report(done)["open_reservations"] == 0


@pytest.mark.req("SPEND-12")
@pytest.mark.postgres
async def test_the_request_rate_holds_across_two_gateways(pair: Pair) -> None:
    token = mint_token(pair.keystore, agent="rate")
    before = await pair.sim.chat_requests()
    replies: list[Reply] = []

    async def call(i: int) -> None:
        gateway = (pair.a, pair.b)[i % 2]
        replies.append(await post(gateway.url, CHAT, token, chat_body("Hi", 20)))

    started = time.monotonic()
    async with trio.open_nursery() as nursery:
        for i in range(3 * PER_MINUTE):
            nursery.start_soon(call, i)
    elapsed = time.monotonic() - started
    granted = [r for r in replies if r.status == 200]
    refused = [r for r in replies if r.status != 200]
    # A burst of a minute's allowance passes; then one more each 60 / PER_MINUTE seconds.
    assert PER_MINUTE <= len(granted) <= PER_MINUTE + int(elapsed * PER_MINUTE / 60)
    assert {r.status for r in refused} == {429}
    assert {r.json()["error"]["code"] for r in refused} == {"rate_limited"}
    # The wait is counted from when a call arrived, and a call may have waited for the
    # identity's row lock for up to the whole burst.
    waits = sorted(int(r.headers["retry-after"]) for r in refused)
    assert waits[0] >= 1 and waits[-1] <= math.ceil(60 / PER_MINUTE + elapsed), waits
    assert await pair.sim.chat_requests() - before == len(granted)
    print(
        f"rate: {len(granted)} granted, {len(refused)} refused (429) in {elapsed:.1f} s, {waits=}"
    )


@pytest.mark.req("SPEND-9")
@pytest.mark.postgres
async def test_a_rounds_budget_counts_only_the_last_requests(pair: Pair) -> None:
    probe = mint_token(pair.keystore, agent="probe")
    body = chat_body("Hi", 100)
    assert (await post(pair.a.url, CHAT, probe, body)).status == 200
    [row] = (await request(pair.a.url, "GET", "/v1/usage", probe)).json()["data"]
    reserved, cost = row["reserved_micro_usd"], row["cost_micro_usd"]
    assert cost < reserved
    # Room for one finished call and one reservation: with rounds:2 (this request and the one
    # before it) that is always enough; counting every request, the third is refused.
    budget = cost + reserved
    windowed = mint_token(
        pair.keystore,
        agent="rounds",
        budget=budget,
        budget_range=RoundsRange(type="rounds", count=2),
    )
    plain = mint_token(pair.keystore, agent="plain", budget=budget)
    gateways = (pair.a, pair.b, pair.a, pair.b, pair.a)
    rounds = [(await post(g.url, CHAT, windowed, body)).status for g in gateways]
    counted = [(await post(g.url, CHAT, plain, body)).status for g in gateways[:4]]
    assert rounds == [200] * 5
    assert counted == [200, 200, 402, 402]
    balance = (await request(pair.b.url, "GET", "/v1/balance", windowed)).json()
    assert balance["budget"]["range"] == "rounds:2"
    assert balance["budget"]["used"] == cost <= budget


@pytest.mark.req("SPEND-21")
@pytest.mark.postgres
async def test_a_quote_made_on_one_gateway_is_redeemed_once_on_either(pair: Pair) -> None:
    token = mint_token(pair.keystore, agent="quoter")
    body = chat_body("Quote me", 30)
    made = await post(pair.a.url, "/v1/quotes", token, body)
    assert made.status == 200, made.body
    quote = made.json()
    redeem = await _post_quoted(pair.b, token, body, quote["id"])
    assert redeem.status == 200, redeem.body
    assert redeem.json()["usage"]["cost_micro_usd"] <= quote["max_cost_micro_usd"]
    again = await _post_quoted(pair.a, token, body, quote["id"])
    assert again.status == 400
    assert again.json()["error"]["code"] == "quote_used"


async def _post_quoted(gateway: GatewayProcess, token: str, body: object, quote_id: str) -> Reply:
    return await post(gateway.url, CHAT, token, body, {"x-bitrouter-quote": quote_id})
