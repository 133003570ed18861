"""Price quotes in the ledger's database: each is redeemed at most once, by its own identity,
before it expires — also when several ledgers (processes) on one database race for it."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from gateway.ledger import Ledger, StoredQuote, open_ledger

T0 = 1_800_000_000.0
ALICE = "solana:x:alice"


def quote(quote_id: str, expires_at: float = T0 + 300, identity: str = ALICE) -> StoredQuote:
    return StoredQuote(quote_id, identity, b'{"prices": [1, 2]}\x00\xff', expires_at)


@pytest.mark.req("SPEND-21")
async def test_a_quote_is_taken_once_by_its_own_identity_before_it_expires(ledger: Ledger) -> None:
    await ledger.put_quote(quote("q1"))
    await ledger.put_quote(quote("q2", expires_at=T0 + 10))
    assert await ledger.take_quote("q1", "solana:x:mallory", T0) == ("other_identity", None)
    assert await ledger.take_quote("q1", ALICE, T0) == ("ok", quote("q1"))
    assert await ledger.take_quote("q1", ALICE, T0 + 1) == ("used", None)
    assert await ledger.take_quote("q2", ALICE, T0 + 10) == ("expired", None)
    assert await ledger.take_quote("q2", ALICE, T0 + 9.999) == ("ok", quote("q2", T0 + 10))
    assert await ledger.take_quote("nope", ALICE, T0) == ("unknown", None)


@pytest.mark.req("SPEND-21")
async def test_quotes_expired_a_day_ago_are_dropped_when_a_new_one_is_put(ledger: Ledger) -> None:
    await ledger.put_quote(quote("old", expires_at=T0))
    await ledger.put_quote(quote("recent", expires_at=T0 + 1))
    await ledger.put_quote(quote("new", expires_at=T0 + 86_400.5))
    assert await ledger.take_quote("old", ALICE, T0 + 86_400) == ("unknown", None)
    assert await ledger.take_quote("recent", ALICE, T0 + 86_400) == ("expired", None)


async def _race(ledgers: tuple[Ledger, Ledger], quote_id: str) -> list[str]:
    outcomes: list[str] = []

    async def take(ledger: Ledger) -> None:
        outcomes.append((await ledger.take_quote(quote_id, ALICE, T0))[0])

    async with trio.open_nursery() as nursery:
        for i in range(20):
            nursery.start_soon(take, ledgers[i % 2])
    return outcomes


@pytest.mark.req("SPEND-21")
async def test_ledgers_sharing_a_database_redeem_a_quote_exactly_once(shared_url: str) -> None:
    async with open_ledger(shared_url) as one, open_ledger(shared_url) as two:
        for n in range(5):
            await one.put_quote(quote(f"race{n}"))
            assert sorted(await _race((one, two), f"race{n}")) == ["ok"] + ["used"] * 19


async def test_a_quote_outlives_its_ledger_being_closed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'quotes.db'}"
    async with open_ledger(url) as ledger:
        await ledger.put_quote(quote("kept"))
    async with open_ledger(url) as ledger:
        assert (await ledger.take_quote("kept", ALICE, T0))[0] == "ok"
