"""Concurrency: a thousand reservations at once never take a limit past its value — in one
process (every store) and in two processes sharing one database."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio

from gateway.errors import SpendingError
from gateway.ledger import (
    AuthorityLimits,
    CallUsage,
    Ledger,
    Principal,
    Reservation,
    ReserveRequest,
    TokenLimits,
    open_ledger,
)

CALLS = 1_000
AMOUNT = 1_000
CAP = 50_500  # room for 50 calls and a half


async def reserve_all(ledger: Ledger, principal: Principal) -> tuple[list[Reservation], list[str]]:
    granted: list[Reservation] = []
    refused: list[str] = []

    async def one() -> None:
        try:
            granted.append(await ledger.reserve(ReserveRequest(principal, AMOUNT)))
        except SpendingError as exc:  # anything else fails the test through the nursery
            refused.append(exc.code)

    async with trio.open_nursery() as nursery:
        for _ in range(CALLS):
            nursery.start_soon(one)
    return granted, refused


@pytest.mark.req("SPEND-3")
@pytest.mark.parametrize("store", ["memory", "sqlite"])
async def test_a_thousand_concurrent_reservations_never_pass_the_cap(
    store: str, tmp_path: Any
) -> None:
    url = "memory://" if store == "memory" else f"sqlite:///{tmp_path / 'race.db'}"
    async with open_ledger(url) as ledger:
        for round_ in range(3):
            agent = f"solana:x:agent{round_}"
            await ledger.set_authority(AuthorityLimits(agent, cumulative_cap=CAP))
            principal = Principal(f"solana:x:user{round_}", authority=agent)
            granted, refused = await reserve_all(ledger, principal)
            assert len(granted) == CAP // AMOUNT
            assert refused == ["spending_cap_exceeded"] * (CALLS - len(granted))
            async with trio.open_nursery() as nursery:
                for held in granted:
                    cost = random.randint(0, AMOUNT + 100)
                    nursery.start_soon(ledger.charge, held, cost, CallUsage("p"))
            status = await ledger.authority(agent)
            assert status is not None and status.reserved == 0 and status.spent <= CAP
            report = await ledger.check()
            assert report.ok, report.breaches


@pytest.mark.req("SPEND-3")
async def test_reserve_then_charge_in_a_crowd_never_passes_the_budget(
    ledger: Ledger,
) -> None:
    principal = Principal("solana:x:crowd", limits=TokenLimits(CAP, "account"))
    outcomes: list[str] = []

    async def one() -> None:
        try:
            held = await ledger.reserve(ReserveRequest(principal, AMOUNT))
        except SpendingError as exc:
            outcomes.append(exc.code)
            return
        await trio.sleep(0)
        await ledger.charge(held, random.randint(0, AMOUNT), CallUsage("p"))
        outcomes.append("charged")

    async with trio.open_nursery() as nursery:
        for _ in range(200):
            nursery.start_soon(one)
    assert set(outcomes) <= {"charged", "budget_exhausted"}
    assert outcomes.count("charged") >= CAP // AMOUNT
    balance = await ledger.balance(principal)
    assert balance.reserved == 0 and balance.spent <= CAP
    assert (await ledger.check()).ok


async def two_processes(
    worker: Callable[..., Awaitable[Any]], url: str, jobs: list[tuple[dict[str, Any], str]]
) -> list[list[dict[str, Any]]]:
    """Both processes run every job at once: half of its calls each, all racing."""
    results: list[list[dict[str, Any]]] = []
    specs = [
        {"spec": spec, "n": CALLS // 2, "amount": AMOUNT, "charge": charge} for spec, charge in jobs
    ]

    async def one() -> None:
        results.append(await worker("race", url, specs))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(one)
        nursery.start_soon(one)
    # One list per job: what each process saw of it.
    return [list(per_job) for per_job in zip(*results, strict=True)]


@pytest.mark.req("SPEND-3")
async def test_two_processes_never_pass_an_authority_cap(
    pg_url: str, worker: Callable[..., Awaitable[Any]]
) -> None:
    agents = [f"solana:x:shared-agent{n}" for n in range(3)]
    charges = ["full", "random", "random"]
    async with open_ledger(pg_url) as ledger:
        for agent in agents:
            await ledger.set_authority(AuthorityLimits(agent, cumulative_cap=CAP))
        jobs = [({"identity": a, "authority": a}, c) for a, c in zip(agents, charges, strict=True)]
        per_job = await two_processes(worker, pg_url, jobs)
        for agent, charge, results in zip(agents, charges, per_job, strict=True):
            assert [r["others"] for r in results] == [[], []]
            granted = sum(r["granted"] for r in results)
            refused = sum(r["codes"].get("spending_cap_exceeded", 0) for r in results)
            assert granted + refused == CALLS
            if charge == "full":  # nothing released early: exactly what fits is granted
                assert granted == CAP // AMOUNT
            status = await ledger.authority(agent)
            assert status is not None
            assert status.spent == sum(r["charged"] for r in results) <= CAP
            assert status.reserved == 0
        report = await ledger.check()
        assert report.ok, report.breaches


@pytest.mark.req("SPEND-3")
async def test_two_processes_never_pass_a_windowed_budget(
    pg_url: str, worker: Callable[..., Awaitable[Any]]
) -> None:
    # The budget's window is summed by a statement after the row lock, in the same round trip:
    # it must see what the lock's previous holder committed.
    shared_url = pg_url
    spec = {"identity": "solana:x:budgeted", "budget": CAP, "scope": "session", "iat": 0}
    [results] = await two_processes(worker, shared_url, [(spec, "full")])
    assert [r["others"] for r in results] == [[], []]
    assert sum(r["granted"] for r in results) == CAP // AMOUNT
    assert sum(r["codes"].get("budget_exhausted", 0) for r in results) == CALLS - CAP // AMOUNT
    async with open_ledger(shared_url) as ledger:
        assert (await ledger.balance(Principal("solana:x:budgeted"))).spent == 50 * AMOUNT
        assert (await ledger.check()).ok
