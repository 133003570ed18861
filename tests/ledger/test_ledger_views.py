"""Usage views scoped to an identity (pages, filters, summaries, balance) and the settlement
bookkeeping (unsettled charges, marking them settled)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import trio

from gateway.core.money import TokenCounts
from gateway.ledger import (
    AuthorityLimits,
    BudgetRange,
    CallUsage,
    Kind,
    Ledger,
    Principal,
    ReserveRequest,
    TokenLimits,
)

ALICE = Principal("solana:x:alice")
BOB = Principal("solana:x:bob")
DAY = 86_400
TOKENS = TokenCounts(10, 20, cached=4, reasoning=3)


async def call(
    ledger: Ledger,
    who: Principal,
    subject: str,
    provider: str,
    cost: int,
    kind: Kind = "model",
) -> int:
    held = await ledger.reserve(ReserveRequest(who, cost + 100, kind, subject, request_id=subject))
    await ledger.charge(held, cost, CallUsage(provider, TOKENS, latency_ms=50, ttft_ms=9))
    return held.id


@pytest.mark.req("SPEND-17")
async def test_usage_pages_newest_first_and_only_for_the_caller(
    ledger: Ledger, autojump_clock: trio.testing.MockClock
) -> None:
    ids = []
    for n in range(5):
        ids.append(await call(ledger, ALICE, f"m{n}", "openai", 100 * n))
        await call(ledger, BOB, "bob-model", "openai", 1)
        await trio.sleep(1)
    await ledger.reserve(ReserveRequest(ALICE, 50, subject="still-open"))
    first = await ledger.usage(ALICE.identity, limit=2)
    assert [r.id for r in first.items] == ids[::-1][:2]
    second = await ledger.usage(ALICE.identity, limit=2, before=first.next_before)
    third = await ledger.usage(ALICE.identity, limit=2, before=second.next_before)
    assert [r.id for r in second.items + third.items] == ids[::-1][2:]
    assert third.next_before is None
    row = first.items[0]
    assert (row.identity, row.subject, row.provider, row.cost, row.reserved) == (
        ALICE.identity,
        "m4",
        "openai",
        400,
        500,
    )
    assert (row.prompt_tokens, row.completion_tokens, row.cached_tokens, row.reasoning_tokens) == (
        10,
        20,
        4,
        3,
    )
    assert (row.latency_ms, row.ttft_ms, row.outcome, row.request_id) == (50, 9, "ok", "m4")
    everyone = await ledger.usage(None, limit=100)
    assert {r.identity for r in everyone.items} == {ALICE.identity, BOB.identity}
    assert len(everyone.items) == 10


@pytest.mark.req("SPEND-17")
async def test_usage_filters_by_subject_provider_kind_and_time(
    ledger: Ledger, autojump_clock: trio.testing.MockClock, clock: Callable[[], float]
) -> None:
    start = clock()
    await call(ledger, ALICE, "gpt", "openai", 10)
    await trio.sleep(10)
    middle = clock()
    await call(ledger, ALICE, "claude", "anthropic", 20)
    await call(ledger, ALICE, "calc__add", "mcp", 5, kind="tool")
    await trio.sleep(10)
    await call(ledger, ALICE, "coder", "acp", 7, kind="agent")

    async def subjects(**filters: object) -> list[str]:
        page = await ledger.usage(ALICE.identity, **filters)  # type: ignore[arg-type]
        return [r.subject for r in page.items]

    assert await subjects(subject="claude") == ["claude"]
    assert await subjects(provider="openai") == ["gpt"]
    assert await subjects(kind="tool") == ["calc__add"]
    assert await subjects(since=middle) == ["coder", "calc__add", "claude"]
    assert await subjects(since=start, until=middle) == ["gpt"]
    assert await subjects(since=middle, until=middle + 10) == ["calc__add", "claude"]


@pytest.mark.req("SPEND-17")
async def test_summary_groups_by_model_provider_kind_and_day(
    ledger: Ledger, autojump_clock: trio.testing.MockClock, clock: Callable[[], float]
) -> None:
    await call(ledger, ALICE, "gpt", "openai", 100)
    await call(ledger, ALICE, "gpt", "azure", 50)
    await call(ledger, ALICE, "claude", "anthropic", 300)
    await trio.sleep(DAY)
    await call(ledger, ALICE, "gpt", "openai", 1, kind="tool")
    await call(ledger, BOB, "gpt", "openai", 999)
    by_model = await ledger.summary(ALICE.identity, group_by="model")
    assert [(r.key, r.requests, r.cost) for r in by_model] == [("claude", 1, 300), ("gpt", 3, 151)]
    gpt = by_model[1]
    assert (gpt.prompt_tokens, gpt.completion_tokens, gpt.cached_tokens, gpt.reasoning_tokens) == (
        30,
        60,
        12,
        9,
    )
    by_provider = await ledger.summary(ALICE.identity, group_by="provider")
    assert [(r.key, r.cost) for r in by_provider] == [
        ("anthropic", 300),
        ("openai", 101),
        ("azure", 50),
    ]
    by_kind = await ledger.summary(ALICE.identity, group_by="kind")
    assert [(r.key, r.requests) for r in by_kind] == [("model", 3), ("tool", 1)]
    by_day = await ledger.summary(ALICE.identity, group_by="day")
    assert [(r.requests, r.cost) for r in by_day] == [(3, 450), (1, 1)]
    assert by_day[0].key < by_day[1].key and len(by_day[0].key) == 10  # YYYY-MM-DD
    today = await ledger.summary(ALICE.identity, group_by="model", since=clock() - 60)
    assert [(r.key, r.cost) for r in today] == [("gpt", 1)]
    with pytest.raises(ValueError):
        await ledger.summary(ALICE.identity, group_by="week")  # type: ignore[arg-type]


@pytest.mark.req("SPEND-17")
async def test_balance_shows_totals_budget_authority_and_headroom(ledger: Ledger) -> None:
    await ledger.set_authority(AuthorityLimits("solana:x:agent", 3_000, 9_000, 2_000_000_000))
    p = Principal(
        "solana:x:alice",
        "k",
        TokenLimits(5_000, "account", BudgetRange("rounds", 10)),
        "solana:x:agent",
    )
    await call(ledger, p, "gpt", "openai", 1_000)
    await ledger.reserve(ReserveRequest(p, 1_500))
    balance = await ledger.balance(p)
    assert (balance.spent, balance.reserved, balance.settled, balance.requests) == (
        1_000,
        1_500,
        0,
        2,
    )
    assert balance.budget is not None
    assert (balance.budget.limit, balance.budget.used, balance.budget.remaining) == (
        5_000,
        2_500,
        2_500,
    )
    assert (balance.budget.scope, balance.budget.range) == ("account", "rounds:10")
    assert balance.authority is not None
    assert (balance.authority.spent, balance.authority.reserved) == (1_000, 1_500)
    assert balance.authority.remaining == 6_500
    assert (balance.remaining, balance.limited_by, balance.expires_at) == (
        2_500,
        "budget",
        2_000_000_000,
    )
    assert balance.to_dict()["budget"] == {
        "limit": 5_000,
        "scope": "account",
        "range": "rounds:10",
        "used": 2_500,
        "remaining": 2_500,
    }


@pytest.mark.req("SPEND-18")
async def test_unsettled_charges_are_listed_then_settled_once(ledger: Ledger) -> None:
    for agent in ("solana:x:a1", "solana:x:a2"):
        await ledger.set_authority(AuthorityLimits(agent))
    a1 = Principal("solana:x:alice", authority="solana:x:a1")
    a2 = Principal("solana:x:bob", authority="solana:x:a2")
    first = await call(ledger, a1, "m", "p", 300)
    await call(ledger, a2, "m", "p", 700)
    second = await call(ledger, a1, "m", "p", 200)
    await call(ledger, a1, "m", "p", 0)  # nothing to pay
    await ledger.release(await ledger.reserve(ReserveRequest(a1, 100)))
    await ledger.reserve(ReserveRequest(a1, 100))  # open: not yet a charge
    await call(ledger, ALICE, "m", "p", 50)  # no authority: nothing to settle on-chain
    due = await ledger.unsettled("solana:x:a1")
    assert [(c.id, c.cost, c.identity) for c in due] == [
        (first, 300, "solana:x:alice"),
        (second, 200, "solana:x:alice"),
    ]
    assert {c.authority for c in await ledger.unsettled()} == {"solana:x:a1", "solana:x:a2"}
    assert await ledger.mark_settled([first, second], "tx-abc") == 500
    assert await ledger.mark_settled([first, second], "tx-again") == 0
    assert await ledger.unsettled("solana:x:a1") == ()
    status = await ledger.authority("solana:x:a1")
    assert status is not None and (status.spent, status.settled) == (500, 500)
    rows = {r.id: r.settle_tx for r in (await ledger.usage("solana:x:alice")).items}
    assert (rows[first], rows[second]) == ("tx-abc", "tx-abc")
    assert (await ledger.balance(a1)).settled == 500
    assert (await ledger.check()).ok
