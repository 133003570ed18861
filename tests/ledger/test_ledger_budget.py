"""The token's budget: its scope (session or account) and its range (duration or rounds).

Time moves with trio's autojump clock: ``await trio.sleep(s)`` is s seconds of ledger time.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
import trio

from gateway.errors import SpendingError
from gateway.ledger import (
    BudgetRange,
    CallUsage,
    Ledger,
    Principal,
    ReserveRequest,
    TokenLimits,
)

WHO = "eip155:8453:0x00000000000000000000000000000000000000a1"


async def spend(ledger: Ledger, principal: Principal, amount: int, cost: int | None = None) -> None:
    held = await ledger.reserve(ReserveRequest(principal, amount))
    if cost is None:
        await ledger.release(held)
    else:
        await ledger.charge(held, cost, CallUsage("p"))


def token(
    budget: int,
    scope: str = "session",
    window: str | None = None,
    iat: float | None = None,
) -> Principal:
    limits = TokenLimits(
        budget,
        scope,  # type: ignore[arg-type]
        BudgetRange.parse(window) if window else None,
        None if iat is None else int(iat),
    )
    return Principal(WHO, "k", limits)


@pytest.mark.req("SPEND-7")
async def test_account_scope_counts_everything_session_scope_counts_since_iat(
    ledger: Ledger, autojump_clock: trio.testing.MockClock, clock: Callable[[], float]
) -> None:
    early = token(10**9, "account")
    await spend(ledger, early, 3_000, 3_000)
    await trio.sleep(10)
    minted = clock()
    session, account = token(5_000, "session", iat=minted), token(5_000, "account", iat=minted)
    assert (await ledger.headroom(session)).amount == 5_000
    assert (await ledger.headroom(account)).amount == 2_000

    await spend(ledger, session, 1_000, 1_000)  # any token of the issuer counts for both
    assert (await ledger.headroom(session)).amount == 4_000
    assert (await ledger.headroom(account)).amount == 1_000
    with pytest.raises(SpendingError, match="account"):
        await ledger.reserve(ReserveRequest(account, 1_001))
    await ledger.reserve(ReserveRequest(session, 4_000))

    older_session = token(5_000, "session", iat=minted - 60)
    assert (await ledger.headroom(older_session)).amount == 0  # 3000 + 1000 + 4000 held
    without_iat = Principal(WHO, "k", TokenLimits(9_000, "session"))
    assert (await ledger.headroom(without_iat)).amount == 1_000


@pytest.mark.req("SPEND-7")
async def test_budget_scope_defaults_to_session(
    ledger: Ledger, autojump_clock: trio.testing.MockClock, clock: Callable[[], float]
) -> None:
    await spend(ledger, token(10**9, "account"), 700, 700)
    await trio.sleep(1)
    default = Principal(WHO, "k", TokenLimits(budget=1_000, iat=int(clock())))
    assert default.limits.budget_scope == "session"
    assert (await ledger.headroom(default)).amount == 1_000


@pytest.mark.req("SPEND-8")
async def test_duration_window_forgets_spending_older_than_its_seconds(
    ledger: Ledger, autojump_clock: trio.testing.MockClock, clock: Callable[[], float]
) -> None:
    p = token(3_000, "account", "duration:60")
    await spend(ledger, p, 2_000, 2_000)
    await trio.sleep(30)
    await spend(ledger, p, 1_000, 500)
    assert (await ledger.headroom(p)).amount == 500
    await trio.sleep(29.999)
    with pytest.raises(SpendingError) as refused:
        await ledger.reserve(ReserveRequest(p, 501))
    assert refused.value.code == "budget_exhausted"
    await trio.sleep(0.001)  # the 2000 is now exactly 60 s old: out of the window
    assert (await ledger.headroom(p)).amount == 2_500
    open_hold = await ledger.reserve(ReserveRequest(p, 2_500))
    await trio.sleep(45)  # the 500 has left; an open reservation counts while in the window...
    assert (await ledger.headroom(p)).amount == 500
    await trio.sleep(15)  # ...and leaves it like any entry
    assert (await ledger.headroom(p)).amount == 3_000
    await ledger.charge(open_hold, 2_500, CallUsage("p"))
    assert (await ledger.check()).ok


@pytest.mark.req("SPEND-9")
async def test_rounds_window_counts_the_last_n_requests(
    ledger: Ledger, autojump_clock: trio.testing.MockClock, clock: Callable[[], float]
) -> None:
    p = token(3_000, "account", "rounds:3")
    for _ in range(3):
        await spend(ledger, p, 1_000, 1_000)
        await trio.sleep(1)
    # The next window is the two newest (2000) plus this call.
    assert (await ledger.headroom(p)).amount == 1_000
    with pytest.raises(SpendingError):
        await ledger.reserve(ReserveRequest(p, 1_001))
    await spend(ledger, p, 1_000)  # released: a request that holds 0
    assert (await ledger.headroom(p)).amount == 2_000  # window: 1000, 0, this call
    await spend(ledger, p, 2_000, 2_000)
    assert (await ledger.headroom(p)).amount == 1_000  # window: 0, 2000, this call
    one = token(2_500, "account", "rounds:1")
    assert (await ledger.headroom(one)).amount == 2_500  # only this call
    assert (await ledger.check()).ok


@pytest.mark.req("SPEND-9")
async def test_rounds_in_session_scope_ignore_requests_before_iat(
    ledger: Ledger, autojump_clock: trio.testing.MockClock, clock: Callable[[], float]
) -> None:
    await spend(ledger, token(10**9, "account"), 1_000, 1_000)
    await trio.sleep(5)
    p = token(1_500, "session", "rounds:5", iat=clock())
    assert (await ledger.headroom(p)).amount == 1_500
    await spend(ledger, p, 1_000, 600)
    assert (await ledger.headroom(p)).amount == 900


@pytest.mark.req("SPEND-8")
async def test_time_windows_sum_exactly_across_minutes_and_hours(
    ledger: Ledger, autojump_clock: trio.testing.MockClock, clock: Callable[[], float]
) -> None:
    # Windows are summed from minute and hour totals plus the entries of one partial minute;
    # compare with a plain sum over many entries spread over three hours.
    rng = random.Random(7)
    spender = token(10**12, "account")
    held: list[tuple[float, int]] = []  # (time, what the entry holds now)
    for _ in range(120):
        await trio.sleep(rng.choice([0.5, 7, 61, 95, 400]))
        amount = rng.randint(1, 1_000)
        reservation = await ledger.reserve(ReserveRequest(spender, amount))
        fate = rng.random()
        if fate < 0.6:
            cost = rng.randint(0, amount)
            await ledger.charge(reservation, cost, CallUsage("p"))
        elif fate < 0.8:
            cost = 0
            await ledger.release(reservation)
        else:
            cost = amount  # left open
        held.append((reservation.reserved_at, cost))
    now = clock()
    for seconds in [1, 59, 60, 61, 3_599, 3_600, 3_601, 5_000, 7_777, 20_000]:
        window = token(10**12, "account", f"duration:{seconds}")
        expected = sum(c for t, c in held if t > now - seconds)
        assert (await ledger.balance(window)).budget.used == expected, seconds  # type: ignore[union-attr]
    for back in [0, 1, 30, 61, 3_600, 3_661, 9_000]:
        iat = int(now) - back
        session = token(10**12, "session", iat=iat)
        expected = sum(c for t, c in held if t >= iat)
        assert (await ledger.balance(session)).budget.used == expected, back  # type: ignore[union-attr]
    assert (await ledger.check()).ok
