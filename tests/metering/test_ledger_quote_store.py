"""The quote service's store over the ledger behaves as the in-memory one does."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest

from gateway.ledger import open_ledger
from gateway.metering import LedgerQuoteStore
from gateway.quotes import MemoryQuoteStore, QuoteRecord, QuoteStore

T0 = 1_800_000_000.0


@asynccontextmanager
async def memory() -> AsyncIterator[QuoteStore]:
    yield MemoryQuoteStore()


def in_ledger(url: str) -> Callable[[], AbstractAsyncContextManager[QuoteStore]]:
    @asynccontextmanager
    async def opened() -> AsyncIterator[QuoteStore]:
        async with open_ledger(url) as ledger:
            yield LedgerQuoteStore(ledger)

    return opened


@pytest.mark.parametrize("kind", ["memory", "ledger-memory", "ledger-sqlite"])
async def test_put_then_take_once_by_its_identity_before_expiry(kind: str, tmp_path: Path) -> None:
    make = {
        "memory": memory,
        "ledger-memory": in_ledger("memory://"),
        "ledger-sqlite": in_ledger(f"sqlite:///{tmp_path / 'q.db'}"),
    }[kind]
    record = QuoteRecord("q_1", "solana:x:a", b'{"id": "q_1"}', T0 + 300)
    async with make() as store:
        await store.put(record)
        await store.put(QuoteRecord("q_2", "solana:x:a", b"{}", T0 + 1))
        assert await store.take("q_1", "solana:x:b", T0) == ("other_identity", None)
        assert await store.take("q_1", "solana:x:a", T0) == ("ok", record)
        assert await store.take("q_1", "solana:x:a", T0) == ("used", None)
        assert await store.take("q_2", "solana:x:a", T0 + 1) == ("expired", None)
        assert await store.take("q_3", "solana:x:a", T0) == ("unknown", None)
