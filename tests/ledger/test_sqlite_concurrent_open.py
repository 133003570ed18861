"""Gateways starting together on one home open a new SQLite ledger at the same moment: every
open succeeds (the switch to WAL can be refused at once with "locked"; it is tried again)."""

from __future__ import annotations

from pathlib import Path

import trio

from gateway.ledger import open_ledger

ROUNDS = 60
OPENERS = 6


async def test_simultaneous_opens_of_a_new_ledger_all_succeed(tmp_path: Path) -> None:
    for round_ in range(ROUNDS):
        url = f"sqlite:///{tmp_path / f'round{round_}.db'}"
        opened: list[int] = []

        async def open_one(url: str = url, opened: list[int] = opened) -> None:
            async with open_ledger(url, recover=False):
                opened.append(1)
                await trio.sleep(0.01)  # open together, not one after another

        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                for _ in range(OPENERS):
                    nursery.start_soon(open_one)
        assert len(opened) == OPENERS
