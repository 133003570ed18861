"""The agent's spending authority (caps, expiry, revocation) and the wallet balance."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import trio

from gateway.errors import SpendingError
from gateway.ledger import (
    AuthorityLimits,
    CallUsage,
    Ledger,
    Principal,
    ReserveRequest,
)

AGENT = "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp:Agent1"
OWNER = "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp:Owner"


async def refused(ledger: Ledger, principal: Principal, amount: int) -> str:
    with pytest.raises(SpendingError) as caught:
        await ledger.reserve(ReserveRequest(principal, amount))
    return caught.value.code


@pytest.mark.req("SPEND-10")
async def test_an_authority_not_on_record_pays_nothing(ledger: Ledger) -> None:
    p = Principal(AGENT, authority=AGENT)
    with pytest.raises(SpendingError, match="no spending authority is on record") as caught:
        await ledger.reserve(ReserveRequest(p, 0))
    assert caught.value.code == "spending_cap_exceeded"
    assert await ledger.authority(AGENT) is None
    assert (await ledger.headroom(p)).amount == 0


@pytest.mark.req("SPEND-10")
async def test_per_transaction_and_cumulative_caps(ledger: Ledger) -> None:
    await ledger.set_authority(AuthorityLimits(AGENT, per_tx_cap=4_000, cumulative_cap=10_000))
    agent, owner = Principal(AGENT, authority=AGENT), Principal(OWNER, authority=AGENT)
    assert await refused(ledger, agent, 4_001) == "spending_cap_exceeded"
    first = await ledger.reserve(ReserveRequest(agent, 4_000))
    await ledger.reserve(ReserveRequest(owner, 4_000))  # another identity, the same authority
    assert await refused(ledger, agent, 2_001) == "spending_cap_exceeded"
    await ledger.charge(first, 1_000, CallUsage("p"))
    status = await ledger.authority(AGENT)
    assert status is not None
    assert (status.spent, status.reserved, status.remaining) == (1_000, 4_000, 5_000)
    await ledger.reserve(ReserveRequest(agent, 4_000))
    assert (await ledger.headroom(agent)).amount == 1_000


@pytest.mark.req("SPEND-10")
async def test_updating_an_authority_keeps_what_it_spent(ledger: Ledger) -> None:
    await ledger.set_authority(AuthorityLimits(AGENT, cumulative_cap=10_000))
    agent = Principal(AGENT, authority=AGENT)
    await ledger.charge(await ledger.reserve(ReserveRequest(agent, 3_000)), 3_000, CallUsage())
    await ledger.set_authority(AuthorityLimits(AGENT, cumulative_cap=5_000))
    status = await ledger.authority(AGENT)
    assert status is not None and (status.spent, status.remaining) == (3_000, 2_000)
    assert await refused(ledger, agent, 2_001) == "spending_cap_exceeded"
    await ledger.set_authority(AuthorityLimits(AGENT, cumulative_cap=5_000, revoked=True))
    assert await refused(ledger, agent, 1) == "authority_revoked"
    assert (await ledger.headroom(agent)).limited_by == "authority_revoked"
    await ledger.set_authority(AuthorityLimits(AGENT, cumulative_cap=5_000))
    await ledger.reserve(ReserveRequest(agent, 2_000))


@pytest.mark.req("SPEND-10")
async def test_an_authority_expires_at_its_expiry(
    ledger: Ledger, autojump_clock: trio.testing.MockClock, clock: Callable[[], float]
) -> None:
    expires = int(clock()) + 10
    await ledger.set_authority(AuthorityLimits(AGENT, expires_at=expires))
    agent = Principal(AGENT, authority=AGENT)
    await trio.sleep(expires - clock() - 0.001)
    await ledger.reserve(ReserveRequest(agent, 1))
    await trio.sleep(0.001)
    assert await refused(ledger, agent, 1) == "authority_expired"
    balance = await ledger.balance(agent)
    assert (balance.expires_at, balance.remaining, balance.limited_by) == (
        expires,
        0,
        "authority_expired",
    )


@pytest.mark.req("SPEND-11")
async def test_wallet_balance_counts_unsettled_charges_and_reservations(ledger: Ledger) -> None:
    await ledger.set_authority(AuthorityLimits(AGENT))
    agent = Principal(AGENT, authority=AGENT, balance=5_000)
    await ledger.charge(await ledger.reserve(ReserveRequest(agent, 3_000)), 2_000, CallUsage())
    await ledger.reserve(ReserveRequest(agent, 1_000))
    assert await refused(ledger, agent, 2_001) == "insufficient_balance"
    assert (await ledger.headroom(agent)).amount == 2_000
    [charge] = await ledger.unsettled(AGENT)
    assert await ledger.mark_settled([charge.id], "tx-1") == 2_000
    # Settlement paid 2000 out of the wallet: its balance is now 3000, none of it owed.
    paid = Principal(AGENT, authority=AGENT, balance=3_000)
    assert (await ledger.headroom(paid)).amount == 2_000  # 3000 - 1000 still reserved
    plain = Principal(OWNER, balance=500)
    assert await refused(ledger, plain, 501) == "insufficient_balance"
