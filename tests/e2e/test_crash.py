"""A gateway killed with SIGKILL in the middle of a load of streamed and non-streamed calls.

After the restart: every call whose complete response reached the client is charged, as the
response said; the reservations of the calls cut short are charged at their reserved amount
(outcome ``expired``) as soon as their deadline passes — none stays open past it while a
gateway runs — and ``bitrouter ledger check`` exits 0.
"""

from __future__ import annotations

import time
from pathlib import Path

import h11
import pytest
import trio

from gateway.identity import mint_token
from gateway.ledger import open_ledger
from tests.e2e.stack import (
    GatewayProcess,
    Stack,
    chat_body,
    check_report,
    ledger_check,
    write_home,
)
from tests.e2e.wire import open_events, post

TTL = 15  # the reservation deadline; a restart takes about as long on a busy machine
TASKS = 24
KILL_AFTER = 30  # complete calls before the kill
SLACK = 3.0  # seconds a recovery may trail its deadline (the loop's wake-up, the database)


async def _call(gateway: GatewayProcess, token: str, rid: str, streamed: bool) -> int | None:
    """The cost the gateway reported, if the whole response arrived; None if it was cut."""
    if streamed:
        body = chat_body("[[sim:tokens=60,chunk_delay_ms=25]] Stream", 200, stream=True)
        async with open_events(gateway.url, "/v1/chat/completions", token, body, rid) as events:
            if events.status != 200:
                return None
            last = None
            while (event := await events.next()) is not None:
                last = event
            if events.ended_cleanly and last is not None and "usage" in last:
                cost: int = last["usage"]["cost_micro_usd"]
                return cost
            return None
    body = chat_body("[[sim:ttft_ms=300]] Answer", 200)
    reply = await post(gateway.url, "/v1/chat/completions", token, body, {"x-request-id": rid})
    return reply.json()["usage"]["cost_micro_usd"] if reply.status == 200 else None


@pytest.mark.req("SPEND-13")
@pytest.mark.req("SPEND-14")
async def test_a_killed_gateway_loses_no_charge_and_leaves_nothing_reserved(
    stack: Stack, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    sim = stack.simulator()
    keystore = write_home(home, sim.url, limits={"reservation_ttl_seconds": TTL})
    keystore.create_agent("load")
    token = mint_token(keystore, agent="load")
    [gateway] = stack.gateways(home)
    complete: dict[str, int] = {}
    cut: list[str] = []
    enough = trio.Event()

    async def worker(n: int) -> None:
        for i in range(10_000):
            rid = f"crash-{n}-{i}"
            try:
                cost = await _call(gateway, token, rid, streamed=n % 2 == 0)
            except (OSError, trio.BrokenResourceError, h11.RemoteProtocolError):
                cost = None
            if cost is None:
                cut.append(rid)
                return  # the gateway is gone
            complete[rid] = cost
            if len(complete) >= KILL_AFTER:
                enough.set()

    with trio.fail_after(300):
        async with trio.open_nursery() as nursery:
            for n in range(TASKS):
                nursery.start_soon(worker, n)
            await enough.wait()
            gateway.kill9()
            killed_at = time.time()
    url = f"sqlite:///{home / 'bitrouter.db'}"
    async with open_ledger(url, recover=False) as ledger:
        left_open = (await ledger.check()).open_reservations
    assert left_open > 0  # the kill did catch calls in flight

    [gateway] = stack.gateways(home)
    ready_at = time.time()
    with trio.fail_after(TTL + 60):
        while True:
            async with open_ledger(url, recover=False) as ledger:
                report = await ledger.check()
                if report.open_reservations == 0:
                    break
            await trio.sleep(0.2)
    async with open_ledger(url, recover=False) as ledger:
        rows = {r.request_id: r for r in (await ledger.usage(None, limit=1000)).items}
    for rid, cost in complete.items():  # every complete response is charged as it said
        assert (rows[rid].status, rows[rid].cost, rows[rid].outcome) == ("charged", cost, "ok")
    expired = [r for r in rows.values() if r.outcome == "expired"]
    assert len(expired) == left_open
    for row in expired:  # charged at the reservation, as soon as a gateway could
        assert row.cost == row.reserved and row.request_id in cut
        assert row.finished_at is not None
        assert row.finished_at <= max(row.created_at + TTL, ready_at) + SLACK
    print(
        f"crash: {len(complete)} complete calls before the kill, {len(cut)} cut, {left_open} "
        f"reservations open; restart took {ready_at - killed_at:.1f} s; all recovered by "
        f"{max(r.finished_at or 0 for r in expired) - killed_at:.1f} s after the kill (TTL {TTL})"
    )
    done = ledger_check(home, stack.env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert check_report(done)["entries"] == len(rows)
