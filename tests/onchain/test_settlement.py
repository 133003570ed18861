"""Settlement against the embedded chains: batches within the per-tx cap, exactly once across a
crash between sending and recording, revocation and refusals blocking the agent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio

from gateway.chains._interface import ChainFamily, TxResult
from gateway.chains.solana import SolanaChain, open_solana
from gateway.errors import ChainError, SpendingError
from gateway.ledger import Ledger
from gateway.metering import LedgerSpendGuard
from gateway.onchain import Onchain

from .conftest import CHAINS, USDC, World, agent_principal, charge, new_agent, onchain_of


async def _payee_balance(onchain: Onchain, chain: ChainFamily) -> int:
    payee = await trio.to_thread.run_sync(onchain.parties.payee, chain)
    backend = await onchain.chains.get(chain)
    return await backend.usdc_balance(payee.address("solana" if chain == "solana" else "evm"))


async def _chain_paid(onchain: Onchain, chain: ChainFamily, owner: str, agent: str) -> int:
    state = await (await onchain.chains.get(chain)).read_authority(owner, agent)
    assert state is not None
    return state.paid


@pytest.mark.req("GW-AUTH-1", "GW-SETTLE-1", "GW-SETTLE-4", "GW-VIEW-1")
@pytest.mark.parametrize("chain", CHAINS)
async def test_charges_are_settled_in_batches_within_the_per_tx_cap(
    world: World, ledger: Ledger, tmp_path: Path, chain: ChainFamily
) -> None:
    async with onchain_of(world, ledger, tmp_path) as onchain:
        grant = await new_agent(onchain, chain, per_tx_cap=5 * USDC, cumulative_cap=50 * USDC)
        principal = await agent_principal(world, grant)
        limits = await onchain.authority_of(principal)
        assert limits is not None and limits.authority == grant.authority
        assert (limits.per_tx_cap, limits.cumulative_cap) == (5 * USDC, 50 * USDC)
        guard = LedgerSpendGuard(ledger, onchain.paying_authority)
        payee_before = await _payee_balance(onchain, chain)

        await charge(guard, principal, 2 * USDC, 2 * USDC, 2 * USDC, USDC)
        with pytest.raises(SpendingError) as over:  # the ledger enforces the mirrored per-tx cap
            await charge(guard, principal, 5 * USDC + 1)
        assert over.value.code == "spending_cap_exceeded"
        report = await onchain.settle_now()

        assert (report.payments, report.amount, report.refused) == (2, 7 * USDC, 0)
        assert await _chain_paid(onchain, chain, grant.owner, grant.agent) == 7 * USDC
        assert await _payee_balance(onchain, chain) - payee_before == 7 * USDC
        row = await ledger.authority(grant.authority)
        assert row is not None and (row.spent, row.settled) == (7 * USDC, 7 * USDC)
        assert await ledger.unsettled(grant.authority) == ()

        mine = await onchain.transactions(principal.identity)
        assert sorted(t["amount_micro_usd"] for t in mine) == [3 * USDC, 4 * USDC]
        assert {t["status"] for t in mine} == {"settled"} and all(t["tx_id"] for t in mine)
        backend = await onchain.chains.get(chain)
        for item in mine:
            found = await backend.find_payment(
                grant.owner, grant.agent, bytes.fromhex(str(item["reference"]))
            )
            assert found is not None and found.amount == item["amount_micro_usd"]
        master = world.keystore.master().caip10("solana" if chain == "solana" else "evm")
        assert {t["reference"] for t in mine} <= {
            t["reference"] for t in await onchain.transactions(master)
        }

        view = await onchain.balance_lookup(principal.identity)
        assert view["agents"][0]["paid"] == 7 * USDC
        assert view["wallets"][0]["address"] == grant.owner
        reconciled = await onchain.reconcile()
        assert reconciled.ok, reconciled.differences
        mine_reconciled = [a for a in reconciled.authorities if a.authority == grant.authority]
        assert (mine_reconciled[0].onchain_paid, mine_reconciled[0].ledger_settled) == (
            7 * USDC,
            7 * USDC,
        )


@pytest.mark.req("GW-SETTLE-2")
@pytest.mark.parametrize("chain", CHAINS)
async def test_a_crash_between_sending_and_recording_never_pays_twice(
    world: World, ledger: Ledger, tmp_path: Path, chain: ChainFamily
) -> None:
    async with onchain_of(world, ledger, tmp_path) as first:
        grant = await new_agent(first, chain)
        principal = await agent_principal(world, grant)
        guard = LedgerSpendGuard(ledger, first.paying_authority)
        await charge(guard, principal, 3 * USDC)
        settler = first.settler
        assert settler is not None
        agent = await first.book.find_agent(grant.authority)
        assert agent is not None
        (batch,) = await settler.plan(agent, grant.per_tx_cap)
        sent = await settler.begin(batch)
        tx_id = await settler.pay(sent)  # on-chain now; the gateway dies before recording it
        await charge(guard, principal, USDC)
        (second_batch,) = [b for b in await settler.plan(agent, grant.per_tx_cap)]
        await settler.begin(second_batch)  # journaled; dies before sending it
        payee_before = await _payee_balance(first, chain)
    assert len(await ledger.unsettled(grant.authority)) == 2

    async with onchain_of(world, ledger, tmp_path) as restarted:
        report = await restarted.settle_now()
        again = await restarted.settle_now()

        assert (report.recovered, again.recovered, again.payments) == (2, 0, 0)
        assert await _chain_paid(restarted, chain, grant.owner, grant.agent) == 4 * USDC
        assert await _payee_balance(restarted, chain) - payee_before == USDC  # only the unsent
        row = await ledger.authority(grant.authority)
        assert row is not None and row.settled == 4 * USDC
        settled = await restarted.transactions(principal.identity)
        assert [t["amount_micro_usd"] for t in settled] == [USDC, 3 * USDC]
        assert settled[1]["tx_id"] == tx_id and settled[1]["status"] == "settled"
        reconciled = await restarted.reconcile()
        assert reconciled.ok, reconciled.differences
        assert reconciled.onchain_paid == reconciled.ledger_settled


@pytest.mark.req("GW-SETTLE-3", "GW-AUTH-2")
@pytest.mark.parametrize("chain", CHAINS)
async def test_revoking_mid_use_stops_the_agent_within_one_cycle(
    world: World, ledger: Ledger, tmp_path: Path, chain: ChainFamily
) -> None:
    async with onchain_of(world, ledger, tmp_path, cache_seconds=3600) as onchain:
        grant = await new_agent(onchain, chain)
        principal = await agent_principal(world, grant)
        guard = LedgerSpendGuard(ledger, onchain.paying_authority)
        await charge(guard, principal, 2 * USDC)
        assert (await onchain.settle_now()).payments == 1
        assert await onchain.onchain_policy(principal)

        await onchain.owner.revoke_agent(grant.label, [chain])
        await charge(guard, principal, USDC)  # served while the gateway still trusts its cache
        report = await onchain.settle_now()  # one cycle

        assert (report.payments, report.refused) == (0, 0)  # nothing is sent to a revoked grant
        with pytest.raises(SpendingError) as refused:
            await charge(guard, principal, 1)
        assert refused.value.code == "authority_revoked"
        assert not await onchain.onchain_policy(principal)
        reconciled = await onchain.reconcile()
        mine = next(a for a in reconciled.authorities if a.authority == grant.authority)
        assert (mine.onchain_paid, mine.ledger_settled, mine.unpaid) == (2 * USDC, 2 * USDC, USDC)
        assert reconciled.ok, reconciled.differences


@pytest.mark.req("GW-SETTLE-3")
async def test_a_payment_the_chain_refuses_blocks_the_agent_at_once(
    world: World, ledger: Ledger, tmp_path: Path
) -> None:
    async with onchain_of(world, ledger, tmp_path) as onchain:
        grant = await new_agent(onchain, "solana", expires_in=600)
        principal = await agent_principal(world, grant)
        guard = LedgerSpendGuard(ledger, onchain.paying_authority)
        await charge(guard, principal, USDC)
        settler = onchain.settler
        assert settler is not None
        agent = await onchain.book.find_agent(grant.authority)
        assert agent is not None
        (batch,) = await settler.plan(agent, grant.per_tx_cap)
        record = await settler.begin(batch)
        backend = await onchain.chains.get("solana")
        assert isinstance(backend, SolanaChain)
        await backend.advance_clock(601)  # the chain's clock passes the expiry

        outcome = await settler.send(record)

        assert (outcome.status, outcome.error_code) == ("refused", "expired")
        assert outcome.error is not None and "spending-caps program error 118" in outcome.error
        with pytest.raises(SpendingError) as refused:
            await charge(guard, principal, 1)
        assert refused.value.code == "authority_expired"
        (shown,) = await onchain.transactions(principal.identity)
        assert (shown["status"], shown["tx_id"]) == ("refused", None)
        reconciled = await onchain.reconcile()
        assert reconciled.ok and reconciled.unpaid >= USDC


@pytest.mark.req("GW-SETTLE-1")
async def test_the_worker_settles_when_the_threshold_is_crossed(
    world: World, ledger: Ledger, tmp_path: Path
) -> None:
    settings = world.settings.model_copy(
        update={
            "settlement": world.settings.settlement.model_copy(
                update={"threshold_micro_usd": 3 * USDC, "interval_seconds": 3600.0}
            )
        }
    )
    # The workers stop with their services: this nursery only ends if they did.
    with trio.fail_after(120):
        async with (
            trio.open_nursery() as workers,
            onchain_of(world, ledger, tmp_path, settings=settings) as onchain,
        ):
            grant = await new_agent(onchain, "solana")
            principal = await agent_principal(world, grant)
            guard = LedgerSpendGuard(ledger, onchain.paying_authority)
            await workers.start(onchain.run_settlement)
            settler = onchain.settler
            assert settler is not None

            await charge(guard, principal, USDC)
            onchain.kick()
            below = await settler.next_cycle()
            await charge(guard, principal, 2 * USDC)
            onchain.kick()
            crossed = await settler.next_cycle()

            assert (below.payments, crossed.payments, crossed.amount) == (0, 1, 3 * USDC)
            assert await _chain_paid(onchain, "solana", grant.owner, grant.agent) == 3 * USDC

            # A second server process on the same home does not settle while this one does.
            async with onchain_of(world, ledger, tmp_path, settings=settings) as other:
                await workers.start(other.run_settlement)
                assert other.settler is not None
                assert settler.active and not other.settler.active


class _TimesOutAfterSending:
    """A chain whose payments land but whose confirmations never arrive (while ``flaky``)."""

    def __init__(self, real: SolanaChain) -> None:
        self.real = real
        self.flaky = True
        self.sent = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    async def pay(
        self, payee_secret: bytes, owner: str, agent: str, amount: int, reference: bytes
    ) -> TxResult:
        result = await self.real.pay(payee_secret, owner, agent, amount, reference)
        self.sent += 1
        if self.flaky:
            raise ChainError("the payment was sent but not confirmed", code="chain_timeout")
        return result


@pytest.mark.req("GW-SETTLE-2")
async def test_a_payment_sent_but_unconfirmed_is_looked_up_not_resent(
    world: World, ledger: Ledger, tmp_path: Path
) -> None:
    async with open_solana(world.settings.chains.solana, world.home) as real:
        chain = _TimesOutAfterSending(real)
        async with onchain_of(world, ledger, tmp_path, backends={"solana": chain}) as onchain:
            grant = await new_agent(onchain, "solana")
            principal = await agent_principal(world, grant)
            guard = LedgerSpendGuard(ledger, onchain.paying_authority)
            await charge(guard, principal, 2 * USDC)

            first = await onchain.settle_now()
            (pending,) = await onchain.transactions(principal.identity)
            chain.flaky = False
            second = await onchain.settle_now()

            assert (first.payments, pending["status"], pending["tx_id"]) == (0, "pending", None)
            assert (second.recovered, chain.sent) == (1, 1)  # found on-chain, never sent again
            assert await _chain_paid(onchain, "solana", grant.owner, grant.agent) == 2 * USDC
            (settled,) = await onchain.transactions(principal.identity)
            assert settled["status"] == "settled" and settled["tx_id"]
            assert (await onchain.reconcile()).ok
