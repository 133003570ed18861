"""Once a settlement shows as settled, the views show its payment: the cached authority is
dropped when the payment is recorded, however long authorities are otherwise cached."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.chains._interface import ChainFamily
from gateway.ledger import Ledger
from gateway.metering import LedgerSpendGuard

from .conftest import CHAINS, USDC, World, agent_principal, charge, new_agent, onchain_of


@pytest.mark.req("GW-VIEW-1", "GW-SETTLE-1")
@pytest.mark.parametrize("chain", CHAINS)
async def test_a_recorded_payment_shows_at_once_in_the_authority_view(
    world: World, ledger: Ledger, tmp_path: Path, chain: ChainFamily
) -> None:
    async with onchain_of(world, ledger, tmp_path, cache_seconds=3600) as onchain:
        grant = await new_agent(onchain, chain)
        principal = await agent_principal(world, grant)
        await charge(LedgerSpendGuard(ledger, onchain.paying_authority), principal, 2 * USDC)
        before = await onchain.authority_view(principal.identity)
        assert before is not None and before["paid"] == 0  # cached for an hour from here
        settler = onchain.settler
        assert settler is not None
        agent = await onchain.book.find_agent(grant.authority)
        assert agent is not None
        (batch,) = await settler.plan(agent, grant.per_tx_cap)
        record = await settler.begin(batch)
        await settler.record(record, await settler.pay(record))

        (shown,) = await onchain.transactions(principal.identity)
        assert shown["status"] == "settled"
        after = await onchain.authority_view(principal.identity)
        assert after is not None and (after["paid"], after["remaining"]) == (
            2 * USDC,
            grant.cumulative_cap - 2 * USDC,
        )
        limits = await onchain.authority_of(principal)
        assert limits is not None and limits.cumulative_cap == grant.cumulative_cap
