"""The SQLite ledger's writes on the event loop: they never block it, and fall back to the
writer thread whenever another connection (here: another process's) holds the write lock."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import trio
import trio.testing

from gateway.core.money import TokenCounts
from gateway.ledger import CallUsage, Principal, ReserveRequest, open_ledger

WHO = "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp:loop"


async def test_a_write_waits_in_a_thread_while_another_connection_holds_the_lock(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.db"
    async with open_ledger(f"sqlite:///{path}") as ledger:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # the write lock, as another process would hold it
        reserved = trio.Event()

        async def reserve() -> None:
            await ledger.reserve(ReserveRequest(Principal(WHO), 500, subject="m", tokens=10))
            reserved.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(reserve)
            # The event loop is free while the reservation waits for the lock: this task runs,
            # and a point read (WAL readers never wait for writers) answers at once.
            await trio.testing.wait_all_tasks_blocked()
            assert not reserved.is_set()
            with trio.fail_after(5):
                assert await ledger.is_revoked("jti:nobody") is False
            other.execute("COMMIT")
            with trio.fail_after(30):
                await reserved.wait()
        other.close()
        balance = await ledger.balance(Principal(WHO))
    assert balance.reserved == 500


async def test_charges_made_on_the_loop_are_in_the_file_when_charge_returns(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.db"
    async with open_ledger(f"sqlite:///{path}") as ledger:
        holds = [
            await ledger.reserve(ReserveRequest(Principal(WHO), 1000, subject="m", tokens=10))
            for _ in range(3)
        ]
        async with trio.open_nursery() as nursery:  # charged together: one WAL sync may serve all
            for hold in holds:
                nursery.start_soon(ledger.charge, hold, 400, CallUsage("p", TokenCounts(5, 5)))
        # Another connection (as another process would) sees every charge at once.
        other = sqlite3.connect(path)
        spent, reserved = other.execute(
            "SELECT spent, reserved FROM ledger_accounts WHERE identity = ?", (WHO,)
        ).fetchone()
        other.close()
        report = await ledger.check()
    assert (spent, reserved) == (1200, 0)
    assert report.ok
