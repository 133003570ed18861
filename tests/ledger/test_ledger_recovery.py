"""Crash safety: charges are durable, every reservation has a deadline, expired ones are
recovered (at start-up and periodically), and a late charge corrects a recovered one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
import trio

from gateway.core.money import TokenCounts
from gateway.ledger import CallUsage, Ledger, Principal, ReserveRequest, open_ledger

LedgerFactory = Callable[..., AbstractAsyncContextManager[Ledger]]
T0 = 1_800_000_000.0
WHO = Principal("solana:x:crashy")
USAGE = CallUsage("openai", TokenCounts(prompt=10, completion=5), outcome="ok")


@pytest.mark.req("SPEND-14")
async def test_an_expired_reservation_is_charged_at_its_reserved_amount(
    make_ledger: LedgerFactory, autojump_clock: trio.testing.MockClock
) -> None:
    async with make_ledger(reservation_ttl_seconds=60) as ledger:
        held = await ledger.reserve(ReserveRequest(WHO, 1_000, subject="m"))
        assert held.deadline == held.reserved_at + 60
        await trio.sleep(60)
        assert (await ledger.recover_expired()).resolved == 0  # due, not yet past
        await trio.sleep(0.001)
        report = await ledger.recover_expired()
        assert (report.resolved, report.charged) == (1, 1_000)
        [row] = (await ledger.usage(WHO.identity)).items
        assert (row.status, row.cost, row.outcome) == ("charged", 1_000, "expired")
        balance = await ledger.balance(WHO)
        assert (balance.reserved, balance.spent) == (0, 1_000)
        assert (await ledger.check()).ok
        assert (await ledger.recover_expired()).resolved == 0


@pytest.mark.req("SPEND-14")
async def test_a_late_charge_or_release_corrects_a_recovered_reservation_once(
    make_ledger: LedgerFactory, autojump_clock: trio.testing.MockClock
) -> None:
    async with make_ledger(reservation_ttl_seconds=10) as ledger:
        stalled = await ledger.reserve(ReserveRequest(WHO, 1_000))
        gone = await ledger.reserve(ReserveRequest(WHO, 2_000))
        await ledger.reserve(ReserveRequest(WHO, 500))
        await trio.sleep(11)
        assert (await ledger.recover_expired()).charged == 3_500
        late = await ledger.charge(stalled, 300, USAGE)
        assert (late.changed, late.cost, late.released) == (True, 300, 700)
        again = await ledger.charge(stalled, 100, USAGE)
        assert (again.changed, again.cost) == (False, 300)
        released = await ledger.release(gone)
        assert (released.changed, released.status) == (True, "released")
        assert (await ledger.balance(WHO)).spent == 300 + 500
        assert (await ledger.check()).ok


@pytest.mark.req("SPEND-14")
async def test_a_settled_recovered_charge_is_final(
    make_ledger: LedgerFactory, autojump_clock: trio.testing.MockClock
) -> None:
    from gateway.ledger import AuthorityLimits

    async with make_ledger(reservation_ttl_seconds=10) as ledger:
        await ledger.set_authority(AuthorityLimits("solana:x:agent"))
        agent = Principal("solana:x:agent", authority="solana:x:agent")
        held = await ledger.reserve(ReserveRequest(agent, 800))
        await trio.sleep(11)
        await ledger.recover_expired()
        [due] = await ledger.unsettled("solana:x:agent")
        assert await ledger.mark_settled([due.id], "tx-9") == 800
        late = await ledger.charge(held, 100, USAGE)
        assert (late.changed, late.cost) == (False, 800)


@pytest.mark.req("SPEND-14")
async def test_recovery_runs_periodically(
    make_ledger: LedgerFactory, mock_clock: trio.testing.MockClock
) -> None:
    # A clock moved by hand: autojumping would race the recovery task's database thread.
    async with make_ledger(reservation_ttl_seconds=30) as ledger, trio.open_nursery() as nursery:
        await nursery.start(ledger.run_recovery, 10)
        await ledger.reserve(ReserveRequest(WHO, 1_000))
        mock_clock.jump(31)
        for _ in range(1_000):  # until the recovery task has had its turn
            balance = await ledger.balance(WHO)
            if balance.reserved == 0:
                break
        assert (balance.reserved, balance.spent) == (0, 1_000)
        nursery.cancel_scope.cancel()


async def _reserved_once_recovery_had_its_turn(ledger: Ledger, expected: int, tries: int) -> int:
    for _ in range(tries):  # until the recovery task has had its turn
        balance = await ledger.balance(WHO)
        if balance.reserved == expected:
            break
    return balance.reserved


@pytest.mark.req("SPEND-14")
async def test_recovery_wakes_at_the_earliest_deadline_not_at_the_next_interval(
    make_ledger: LedgerFactory, mock_clock: trio.testing.MockClock
) -> None:
    async with make_ledger(reservation_ttl_seconds=30) as ledger, trio.open_nursery() as nursery:
        await nursery.start(ledger.run_recovery, 60)
        await ledger.reserve(ReserveRequest(WHO, 1_000))
        mock_clock.jump(20)
        await ledger.reserve(ReserveRequest(WHO, 2_000))  # its deadline: 50 s
        mock_clock.jump(11)  # 31 s: the first is past its deadline
        assert await _reserved_once_recovery_had_its_turn(ledger, 2_000, 1_000) == 2_000
        # Woken at 31 s, the task must look again at 50 s — not at 61 s (another lifetime
        # later) nor at 91 s (the interval). The clock moves a second at a time.
        while await _reserved_once_recovery_had_its_turn(ledger, 0, 50) != 0:
            assert trio.current_time() < 52, "not recovered at its deadline"
            mock_clock.jump(1)
        assert (await ledger.balance(WHO)).spent == 3_000
        nursery.cancel_scope.cancel()


@pytest.mark.req("SPEND-14")
async def test_a_dead_process_reservation_is_recovered_when_the_ledger_opens(
    shared_url: str, worker: Callable[..., Awaitable[Any]]
) -> None:
    await worker("hold_and_die", shared_url, WHO.identity, 4_000, T0)
    async with open_ledger(shared_url, clock=lambda: T0 + 599) as ledger:
        assert (await ledger.balance(WHO)).reserved == 4_000  # its deadline has not passed
    async with open_ledger(shared_url, clock=lambda: T0 + 601) as ledger:
        balance = await ledger.balance(WHO)
        assert (balance.reserved, balance.spent) == (0, 4_000)
        [row] = (await ledger.usage(WHO.identity)).items
        assert row.outcome == "expired"
        assert (await ledger.check()).ok


@pytest.mark.req("SPEND-13")
async def test_a_charge_survives_its_process_dying_right_after(
    shared_url: str, worker: Callable[..., Awaitable[Any]]
) -> None:
    done = await worker("charge_and_die", shared_url, WHO.identity, 5_000, 1_234)
    async with open_ledger(shared_url) as ledger:
        [row] = (await ledger.usage(WHO.identity)).items
        assert (row.id, row.status, row.cost, row.completion_tokens) == (
            done["id"],
            "charged",
            1_234,
            2,
        )
        assert (await ledger.balance(WHO)).spent == 1_234
        assert (await ledger.check()).ok
