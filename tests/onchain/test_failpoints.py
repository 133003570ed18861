"""Failpoints: armed only by ``BITROUTER_FAILPOINTS``, checked when the settings are read, and
the settlement worker paused by them exactly in its two crash windows."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import trio

from gateway.chains._interface import ChainFamily
from gateway.errors import ConfigError
from gateway.failpoints import FAILPOINTS, Failpoints, parse_failpoints
from gateway.ledger import Ledger
from gateway.metering import LedgerSpendGuard
from gateway.settings import load_settings, settings_from_mapping

from .conftest import CHAINS, USDC, World, agent_principal, charge, new_agent, onchain_of


@pytest.mark.req("GW-FAIL-1")
def test_the_environment_arms_failpoints_and_a_typo_is_refused(home: Path) -> None:
    armed = "settlement.after_pay=pause, settlement.before_pay=pause"
    settings = load_settings(home, environ={"BITROUTER_FAILPOINTS": armed})
    assert settings.failpoints == {
        "settlement.after_pay": "pause",
        "settlement.before_pay": "pause",
    }
    assert load_settings(home, environ={}).failpoints == {}
    assert parse_failpoints("") == {} and set(FAILPOINTS) == set(parse_failpoints(armed))

    with pytest.raises(ConfigError, match=r"unknown failpoint 'settlement\.after_pey'"):
        load_settings(home, environ={"BITROUTER_FAILPOINTS": "settlement.after_pey=pause"})
    with pytest.raises(ConfigError, match=r"expected settlement\.after_pay=ACTION"):
        parse_failpoints("settlement.after_pay=crash")
    with pytest.raises(ConfigError, match=r"expected settlement\.after_pay=ACTION"):
        parse_failpoints("settlement.after_pay")
    (home / ".env").write_text("BITROUTER_FAILPOINTS=settlement.after_pay=pause\n")
    assert load_settings(home, environ={}).failpoints == {}  # the home's .env never arms one
    with pytest.raises(ConfigError, match="failpoints: unknown key"):
        settings_from_mapping({"failpoints": {"settlement.after_pay": "pause"}}, home, environ={})


@pytest.mark.req("GW-FAIL-1")
async def test_an_armed_failpoint_pauses_until_cancelled_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    await Failpoints().reach("settlement.after_pay")  # unarmed: returns at once
    await Failpoints({"settlement.before_pay": "pause"}).reach("settlement.after_pay")
    assert caplog.records == []
    armed = Failpoints({"settlement.after_pay": "pause"})
    with (
        caplog.at_level(logging.WARNING, logger="bitrouter.failpoints"),
        trio.CancelScope() as scope,
    ):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(armed.reach, "settlement.before_pay")
            nursery.start_soon(armed.reach, "settlement.after_pay")
            await _logged(caplog, "failpoint settlement.after_pay: paused")
            scope.cancel()
    assert [r.getMessage() for r in caplog.records] == ["failpoint settlement.after_pay: paused"]


async def _logged(caplog: pytest.LogCaptureFixture, line: str) -> None:
    with trio.fail_after(60):
        while line not in [r.getMessage() for r in caplog.records]:
            await trio.sleep(0.01)


@pytest.mark.req("GW-FAIL-1", "GW-SETTLE-2")
@pytest.mark.parametrize("point", ["before_pay", "after_pay"])
@pytest.mark.parametrize("chain", CHAINS)
async def test_the_settlement_failpoints_sit_in_the_crash_windows(
    world: World,
    ledger: Ledger,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    chain: ChainFamily,
    point: str,
) -> None:
    armed = settings_from_mapping(
        {}, world.home, environ={"BITROUTER_FAILPOINTS": f"settlement.{point}=pause"}
    )
    async with onchain_of(world, ledger, tmp_path, settings=armed) as paused:
        grant = await new_agent(paused, chain)
        principal = await agent_principal(world, grant)
        await charge(LedgerSpendGuard(ledger, paused.paying_authority), principal, 2 * USDC)
        backend = await paused.chains.get(chain)
        with caplog.at_level(logging.WARNING, logger="bitrouter.failpoints"):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(paused.settle_now)
                await _logged(caplog, f"failpoint settlement.{point}: paused")
                (record,) = await paused.store.unfinished()
                found = await backend.find_payment(grant.owner, grant.agent, record.reference)
                nursery.cancel_scope.cancel()  # the gateway dies here
        assert record.status == "sending" and record.amount == 2 * USDC
        if point == "before_pay":
            assert found is None
        else:
            assert found is not None and found.amount == 2 * USDC
        row = await ledger.authority(grant.authority)
        assert row is not None and (row.spent, row.settled) == (2 * USDC, 0)

    async with onchain_of(world, ledger, tmp_path) as restarted:
        report = await restarted.settle_now()
        assert (report.recovered, report.payments) == (1, 0)
        (settled,) = await restarted.transactions(principal.identity)
        assert settled["reference"] == record.reference.hex() and settled["status"] == "settled"
        if found is not None:
            assert settled["tx_id"] == found.tx_id  # recorded as found, not sent again
        backend = await restarted.chains.get(chain)
        state = await backend.read_authority(grant.owner, grant.agent)
        assert state is not None and state.paid == 2 * USDC
        reconciled = await restarted.reconcile()
        assert reconciled.ok, reconciled.differences
