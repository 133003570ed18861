"""Reserve → call → charge on every store: holds, charges, clamps, refusals and headroom."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import pytest
import trio

from gateway.core.money import TokenCounts
from gateway.errors import RateLimited, SpendingError
from gateway.ledger import (
    AuthorityLimits,
    CallUsage,
    Ledger,
    Principal,
    Reservation,
    ReserveRequest,
    TokenLimits,
)

T0 = 1_800_000_000.0  # the conftest clock
LedgerFactory = Callable[..., AbstractAsyncContextManager[Ledger]]
WHO = "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp:Alice"
AGENT = "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp:Agent"
USAGE = CallUsage("openai", TokenCounts(prompt=100, completion=50), latency_ms=120, ttft_ms=40)


def budget(amount: int) -> Principal:
    return Principal(WHO, "jti:secret-token-id", TokenLimits(amount, "account"))


@pytest.mark.req("SPEND-2")
@pytest.mark.req("SPEND-4")
async def test_reservation_holds_then_charge_moves_the_actual_cost_to_spent(
    ledger: Ledger,
) -> None:
    p = budget(10_000)
    first = await ledger.reserve(ReserveRequest(p, 6_000, subject="openai:gpt-4o"))
    balance = await ledger.balance(p)
    assert (balance.reserved, balance.spent, balance.remaining) == (6_000, 0, 4_000)
    with pytest.raises(SpendingError) as refused:
        await ledger.reserve(ReserveRequest(p, 4_001))
    assert refused.value.code == "budget_exhausted"

    charge = await ledger.charge(first, 2_500, USAGE)
    assert (charge.cost, charge.released, charge.overage, charge.changed) == (2_500, 3_500, 0, True)
    balance = await ledger.balance(p)
    assert (balance.reserved, balance.spent, balance.remaining) == (0, 2_500, 7_500)
    assert balance.budget is not None and balance.budget.used == 2_500

    await ledger.reserve(ReserveRequest(p, 7_500))  # exactly what is left
    assert (await ledger.headroom(p)).amount == 0


@pytest.mark.req("SPEND-4")
async def test_release_returns_the_whole_reservation(ledger: Ledger) -> None:
    p = budget(1_000)
    held = await ledger.reserve(ReserveRequest(p, 1_000))
    result = await ledger.release(held, CallUsage("openai", outcome="upstream_error"))
    assert (result.status, result.cost, result.released) == ("released", 0, 1_000)
    balance = await ledger.balance(p)
    assert (balance.spent, balance.reserved, balance.remaining) == (0, 0, 1_000)
    [row] = (await ledger.usage(WHO)).items
    assert (row.status, row.cost, row.outcome) == ("released", 0, "upstream_error")


@pytest.mark.req("SPEND-4")
async def test_a_charge_above_its_reservation_is_clamped_and_recorded(ledger: Ledger) -> None:
    p = budget(10_000)
    held = await ledger.reserve(ReserveRequest(p, 3_000))
    result = await ledger.charge(held, 3_750, USAGE)
    assert (result.cost, result.overage, result.released) == (3_000, 750, 0)
    assert (await ledger.balance(p)).spent == 3_000
    [row] = (await ledger.usage(WHO)).items
    assert (row.cost, row.reserved, row.overage) == (3_000, 3_000, 750)
    assert (await ledger.check()).ok


@pytest.mark.req("SPEND-4")
async def test_finishing_twice_changes_nothing(ledger: Ledger) -> None:
    p = budget(10_000)
    held = await ledger.reserve(ReserveRequest(p, 3_000))
    await ledger.charge(held, 1_000, USAGE)
    again = await ledger.charge(held, 2_000, USAGE)
    late_release = await ledger.release(held)
    assert (again.changed, again.cost, late_release.changed, late_release.cost) == (
        False,
        1_000,
        False,
        1_000,
    )
    assert (await ledger.balance(p)).spent == 1_000
    with pytest.raises(ValueError, match="no reservation"):
        await ledger.charge(Reservation(10**9, WHO, None, 1, 0, "model", "", "", T0, T0), 1, USAGE)


@pytest.mark.req("SPEND-2")
async def test_a_refused_reservation_writes_nothing(ledger: Ledger) -> None:
    p = budget(500)
    await ledger.reserve(ReserveRequest(p, 400))
    before = await ledger.check()
    with pytest.raises(SpendingError):
        await ledger.reserve(ReserveRequest(p, 101))
    after = await ledger.check()
    assert (after.entries, after.reserved) == (before.entries, before.reserved) == (1, 400)
    assert (await ledger.balance(p)).requests == 1


@pytest.mark.req("SPEND-5")
async def test_refusals_report_the_first_limit_in_order(make_ledger: LedgerFactory) -> None:
    async with make_ledger(requests_per_minute=1) as ledger:
        now = int(T0 + trio.current_time())

        async def refusal(limits: AuthorityLimits, budget_left: int, balance: int | None) -> str:
            await ledger.set_authority(limits)
            p = Principal(WHO, "jti:k", TokenLimits(budget_left, "account"), AGENT, balance)
            with pytest.raises(SpendingError) as caught:
                await ledger.reserve(ReserveRequest(p, 1_000))
            assert caught.value.status == 402
            assert "\n" not in caught.value.message and "jti:k" not in caught.value.message
            return caught.value.code

        everything_wrong = AuthorityLimits(AGENT, 10, 10, now - 1, revoked=True)
        assert await refusal(everything_wrong, 0, 0) == "authority_revoked"
        expired = AuthorityLimits(AGENT, 10, 10, now - 1)
        assert await refusal(expired, 0, 0) == "authority_expired"
        over_cap = AuthorityLimits(AGENT, 999, 10**6, now + 60)
        assert await refusal(over_cap, 0, 0) == "spending_cap_exceeded"
        fine = AuthorityLimits(AGENT, 10**6, 10**6, now + 60)
        assert await refusal(fine, 0, 999) == "insufficient_balance"
        assert await refusal(fine, 999, None) == "budget_exhausted"

        p = Principal(WHO, "jti:k", TokenLimits(10**6, "account"), AGENT)
        await ledger.reserve(ReserveRequest(p, 1_000))  # the minute's one request
        with pytest.raises(RateLimited) as limited:
            await ledger.reserve(ReserveRequest(p, 1_000))
        assert limited.value.status == 429 and limited.value.retry_after == 60


@pytest.mark.req("SPEND-5")
async def test_a_refusal_names_what_is_left_and_what_was_needed(ledger: Ledger) -> None:
    p = budget(5_000_000)
    await ledger.reserve(ReserveRequest(p, 4_000_000))
    with pytest.raises(SpendingError) as caught:
        await ledger.reserve(ReserveRequest(p, 1_500_000))
    assert caught.value.message == (
        "the token's budget of 5.000000 USD (account) has 1.000000 USD left; "
        "the call may cost up to 1.500000 USD"
    )


@pytest.mark.req("SPEND-6")
async def test_headroom_is_the_largest_reservation_that_fits(ledger: Ledger) -> None:
    assert await ledger.headroom(Principal(WHO)) == (await ledger.headroom(Principal(WHO)))
    assert (await ledger.headroom(Principal(WHO))).amount is None  # no limit at all
    await ledger.set_authority(AuthorityLimits(AGENT, per_tx_cap=4_000, cumulative_cap=9_000))
    p = Principal(WHO, "k", TokenLimits(20_000, "account"), AGENT, balance=50_000)
    room = await ledger.headroom(p)
    assert (room.amount, room.limited_by) == (4_000, "per_tx_cap")
    await ledger.reserve(ReserveRequest(p, 4_000))
    await ledger.reserve(ReserveRequest(p, 3_000))
    room = await ledger.headroom(p)
    assert (room.amount, room.limited_by) == (2_000, "cumulative_cap")
    with pytest.raises(SpendingError):
        await ledger.reserve(ReserveRequest(p, room.amount + 1))
    await ledger.reserve(ReserveRequest(p, room.amount))
    assert (await ledger.headroom(p)).amount == 0


@pytest.mark.req("SPEND-15")
async def test_hold_charges_what_the_body_charged_or_recorded(ledger: Ledger) -> None:
    p = budget(10_000)
    async with ledger.hold(ReserveRequest(p, 2_000, subject="m1")) as hold:
        await hold.charge(700, USAGE)
    async with ledger.hold(ReserveRequest(p, 2_000, subject="m2")) as hold:
        hold.record(300, USAGE)
        hold.record(900, USAGE)  # a stream's running total: the last one counts
    costs = {row.subject: (row.status, row.cost) for row in (await ledger.usage(WHO)).items}
    assert costs == {"m1": ("charged", 700), "m2": ("charged", 900)}
    assert (await ledger.balance(p)).reserved == 0


@pytest.mark.req("SPEND-15")
async def test_hold_finishes_on_error_and_on_cancellation(ledger: Ledger) -> None:
    p = budget(10_000)
    with pytest.raises(RuntimeError):
        async with ledger.hold(ReserveRequest(p, 2_000, subject="failed")):
            raise RuntimeError("upstream blew up")
    with trio.CancelScope() as scope:
        async with ledger.hold(ReserveRequest(p, 2_000, subject="cut")) as hold:
            hold.record(1_200, USAGE)
            scope.cancel()
            await trio.sleep_forever()
    assert scope.cancelled_caught
    costs = {row.subject: (row.status, row.cost) for row in (await ledger.usage(WHO)).items}
    assert costs == {"failed": ("released", 0), "cut": ("charged", 1_200)}
    balance = await ledger.balance(p)
    assert (balance.reserved, balance.spent) == (0, 1_200)
