"""Gateways starting together on one home open its settlement journal at the same moment:
every open succeeds (SQLite answers some lock conflicts with "locked" at once, unasked to wait)."""

from __future__ import annotations

from pathlib import Path

import trio

from gateway.onchain._store import SettlementStore

ROUNDS = 40
OPENERS = 6


async def test_simultaneous_opens_of_a_new_journal_all_succeed(tmp_path: Path) -> None:
    for round_ in range(ROUNDS):
        path = tmp_path / f"round{round_}" / "settlements.db"
        stores: list[SettlementStore] = []

        async def open_one(path: Path = path, stores: list[SettlementStore] = stores) -> None:
            stores.append(await SettlementStore.open(path))

        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                for _ in range(OPENERS):
                    nursery.start_soon(open_one)
        for store in stores:
            await store.aclose()
        assert len(stores) == OPENERS
