"""``bitrouter serve --workers 2`` on a shared PostgreSQL ledger: both worker processes serve
the port, every call is charged once, and SIGTERM stops the parent and its workers cleanly."""

from __future__ import annotations

from pathlib import Path

import trio

from gateway.identity import mint_token
from tests.e2e.stack import Stack, chat_body, check_report, ledger_check, write_home
from tests.e2e.wire import post, request

CALLS = 40


def _workers(parent: int) -> set[int]:
    """The parent's worker processes (its spawned children, not multiprocessing's helpers)."""
    found = set()
    for child in Path(f"/proc/{parent}/task/{parent}/children").read_text().split():
        cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        if b"multiprocessing.spawn" in cmdline:
            found.add(int(child))
    return found


async def test_two_workers_share_the_port_and_the_ledger(
    stack: Stack, tmp_path: Path, pg_url: str
) -> None:
    home = tmp_path / "home"
    sim = stack.simulator()
    keystore = write_home(home, sim.url, database_url=pg_url)
    token = mint_token(keystore)
    [gateway] = stack.gateways(home, workers=2)
    assert len(_workers(gateway.pid)) == 2
    costs: list[int] = []

    async def call(n: int) -> None:
        reply = await post(gateway.url, "/v1/chat/completions", token, chat_body(f"hi {n}", 20))
        assert reply.status == 200, reply.body
        costs.append(reply.json()["usage"]["cost_micro_usd"])

    with trio.fail_after(120):
        async with trio.open_nursery() as nursery:
            for n in range(CALLS):
                nursery.start_soon(call, n)
        usage = await request(gateway.url, "GET", "/v1/usage/summary", token)
    assert len(costs) == CALLS
    assert usage.json()["total_cost_micro_usd"] == sum(costs)
    workers = _workers(gateway.pid)
    assert gateway.stop() == 0
    assert gateway.stopped_in is not None
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)
    report = check_report(ledger_check(home, stack.env))
    assert report["ok"], report
