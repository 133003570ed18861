"""The operator's per-identity rate limits: requests and tokens per minute, across processes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
import trio

from gateway.core.money import TokenCounts
from gateway.errors import RateLimited
from gateway.ledger import CallUsage, Ledger, Principal, ReserveRequest

T0 = 1_800_000_000.0
LedgerFactory = Callable[..., AbstractAsyncContextManager[Ledger]]
WHO = Principal("solana:x:rate-limited")
OTHER = Principal("solana:x:someone-else")


@pytest.mark.req("SPEND-12")
async def test_requests_per_minute_allow_a_burst_then_refill_evenly(
    make_ledger: LedgerFactory, autojump_clock: trio.testing.MockClock
) -> None:
    async with make_ledger(requests_per_minute=3) as ledger:
        for _ in range(3):
            await ledger.reserve(ReserveRequest(WHO, 0))
        with pytest.raises(RateLimited) as caught:
            await ledger.reserve(ReserveRequest(WHO, 0))
        assert caught.value.retry_after == 20
        assert caught.value.headers() == {"retry-after": "20"}
        await ledger.reserve(ReserveRequest(OTHER, 0))  # limits are per identity
        await trio.sleep(19.9)
        with pytest.raises(RateLimited) as again:  # refusals consumed nothing
            await ledger.reserve(ReserveRequest(WHO, 0))
        assert again.value.retry_after == 1
        await trio.sleep(0.1)
        await ledger.reserve(ReserveRequest(WHO, 0))


@pytest.mark.req("SPEND-12")
async def test_tokens_per_minute_use_the_estimate_then_the_actual_tokens(
    make_ledger: LedgerFactory, autojump_clock: trio.testing.MockClock
) -> None:
    async with make_ledger(tokens_per_minute=1_000) as ledger:
        first = await ledger.reserve(ReserveRequest(WHO, 0, tokens=600))
        with pytest.raises(RateLimited) as caught:
            await ledger.reserve(ReserveRequest(WHO, 0, tokens=600))
        assert caught.value.retry_after == 12  # 200 tokens at 1000 a minute
        await ledger.charge(first, 0, CallUsage("p", TokenCounts(prompt=60, completion=40)))
        await ledger.reserve(ReserveRequest(WHO, 0, tokens=900))  # 500 came back
        with pytest.raises(RateLimited):
            await ledger.reserve(ReserveRequest(WHO, 0, tokens=1))


@pytest.mark.req("SPEND-12")
async def test_a_call_larger_than_a_minute_waits_for_a_full_bucket(
    make_ledger: LedgerFactory, autojump_clock: trio.testing.MockClock
) -> None:
    async with make_ledger(tokens_per_minute=1_000) as ledger:
        await ledger.reserve(ReserveRequest(WHO, 0, tokens=100))
        with pytest.raises(RateLimited) as caught:
            await ledger.reserve(ReserveRequest(WHO, 0, tokens=5_000))
        assert caught.value.retry_after == 6
        await trio.sleep(6)
        await ledger.reserve(ReserveRequest(WHO, 0, tokens=5_000))
        with pytest.raises(RateLimited):
            await ledger.reserve(ReserveRequest(WHO, 0, tokens=1))


@pytest.mark.req("SPEND-12")
async def test_two_processes_share_one_rate_limit(
    shared_url: str, worker: Callable[..., Awaitable[Any]]
) -> None:
    async with trio.open_nursery() as nursery:
        results: list[dict[str, int]] = []

        async def one() -> None:
            results.append(await worker("rate", shared_url, "solana:x:shared", 10, 10, T0))

        nursery.start_soon(one)
        nursery.start_soon(one)
    assert sum(r["granted"] for r in results) == 10
    assert sum(r["limited"] for r in results) == 10
