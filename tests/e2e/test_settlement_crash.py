"""A real ``bitrouter serve`` killed with SIGKILL inside the settlement's crash windows.

The home is set up as a user does it (``account --generate-key``, ``swig create-wallet``,
``swig fund``, ``swig derive-agent``, then the ``keygen`` command derive-agent prints). The
gateway runs with a failpoint armed (``BITROUTER_FAILPOINTS``): ``settlement.before_pay`` (the
settlement is journalled, its payment not sent) or ``settlement.after_pay`` (the payment is
on-chain, not recorded). Once the gateway says it reached it, the test kills it with SIGKILL,
looks at the chain and the ledger as the crash left them, and restarts the gateway without the
failpoint. After the restart every charge is settled exactly once: the chain's own count of what
the authority paid, the payee's USDC, the ledger's settled total and what the calls were charged
all agree, and ``bitrouter ledger reconcile`` reports on-chain = ledger.

The embedded chain node is a daemon of its own, so it lives through the kill, as a real chain
would; the fixture stops it at the end.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
import yaml
from openai import OpenAI
from typer.testing import CliRunner

from gateway.chains._daemon import running_node, stop_node
from gateway.chains._interface import ChainFamily, Payment
from gateway.cli import app
from gateway.identity import Keystore
from gateway.ledger import open_ledger
from gateway.onchain import SettlementRecord, open_onchain
from gateway.settings import load_settings
from tests.e2e.conftest import stack_printing_logs
from tests.e2e.stack import PYTHON, START_TIMEOUT, GatewayProcess, Stack

LABEL = "my-coding-agent"
MODEL = "moonshotai:kimi-k2.5"
_KEYGEN = re.compile(r"token\s+bitrouter (keygen --agent \S+ --chain \S+)")


@pytest.fixture
def user_home(home: Path) -> Iterator[Path]:
    """The user's home; its embedded chain nodes (which outlive a killed gateway) are stopped
    at the end."""
    try:
        yield home
    finally:
        for name in ("solana", "tempo"):
            stop_node(home, name)
            assert running_node(home, name) is None


@pytest.fixture
def stack(user_home: Path, tmp_path: Path) -> Iterator[Stack]:
    """The test's gateways, stopped before the home's nodes are (a running gateway would start
    a stopped node again)."""
    with stack_printing_logs(tmp_path) as opened:
        yield opened


def _cli(home: Path, *args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"BITROUTER_HOME": str(home)})
    assert result.exit_code == 0, (args, result.stderr)
    return result.stdout


def _set_up(home: Path, chain: ChainFamily) -> str:
    """The product flow as the user types it; the agent's token."""
    (home / "bitrouter.yaml").write_text(
        yaml.safe_dump(
            {
                "server": {"access_log": False},
                "settlement": {"interval_seconds": 1, "threshold_micro_usd": 1},
            }
        )
    )
    _cli(home, "account", "--generate-key")
    _cli(home, "swig", "create-wallet", "--chain", chain)
    _cli(home, "swig", "fund", "--amount", "100000000", "--chain", chain)
    derived = _cli(
        home, "swig", "derive-agent", "--label", LABEL, "--per-tx-cap", "5000000",
        "--cumulative-cap", "50000000", "--expires-at", str(int(time.time()) + 86400),
        "--chain", chain,
    )  # fmt: skip
    found = _KEYGEN.search(derived)
    assert found is not None, derived
    return _cli(home, *found.group(1).split(), "--exp", "1d", "--name", "agent").strip()


def _chat(url: str, token: str, *texts: str) -> list[int]:
    """One call per text with the openai SDK; what each was charged (µUSD)."""
    client = OpenAI(base_url=f"{url}/v1", api_key=token, max_retries=0)
    costs = []
    for text in texts:
        reply = client.chat.completions.create(
            model=MODEL, max_tokens=40, messages=[{"role": "user", "content": text}]
        )
        assert reply.usage is not None
        costs.append(int((reply.usage.model_extra or {})["cost_micro_usd"]))
    assert all(cost > 0 for cost in costs)
    return costs


def _reconcile(home: Path, env: dict[str, str], *flags: str) -> subprocess.CompletedProcess[str]:
    """``bitrouter ledger reconcile`` as its own process."""
    return subprocess.run(
        [PYTHON, "-m", "gateway.cli", "ledger", "reconcile", *flags],
        env={**env, "BITROUTER_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
        check=False,
    )


@dataclass(frozen=True)
class Books:
    """The chain and the ledger as one look at them found them."""

    authority: str
    journal: list[SettlementRecord]
    payments: dict[bytes, Payment | None]  # each journalled reference's payment on-chain
    chain_paid: int  # the authority's own count on-chain of what it paid
    payee_usdc: int
    spent: int
    settled: int
    unsettled: int


async def _books(home: Path, chain: ChainFamily) -> Books:
    settings = load_settings(home, environ={})
    async with (
        open_ledger(settings.database_url, recover=False) as ledger,
        open_onchain(settings, None, Keystore(home)) as onchain,
    ):
        journal = await onchain.store.settlements(limit=None)
        (agent,) = [a for a in await onchain.store.agents() if a.label == LABEL]
        authority = agent.authority
        backend = await onchain.chains.get(chain)
        payments = {
            r.reference: await backend.find_payment(r.owner, r.agent, r.reference) for r in journal
        }
        state = await backend.read_authority(agent.owner, agent.agent)
        assert state is not None
        payee = await trio.to_thread.run_sync(onchain.parties.payee, chain)
        row = await ledger.authority(authority)
        assert row is not None
        return Books(
            authority=authority,
            journal=journal,
            payments=payments,
            chain_paid=state.paid,
            payee_usdc=await backend.usdc_balance(
                payee.address("solana" if chain == "solana" else "evm")
            ),
            spent=row.spent,
            settled=row.settled,
            unsettled=sum(c.cost for c in await ledger.unsettled(authority)),
        )


async def _settled(url: str, token: str, charged: int) -> list[dict[str, Any]]:
    """``GET /v1/transactions`` once every charge shows settled."""
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
        with trio.fail_after(300):
            while True:
                txs: list[dict[str, Any]] = (await client.get("/v1/transactions")).json()["data"]
                if {t["status"] for t in txs} == {"settled"} and sum(
                    t["amount_micro_usd"] for t in txs
                ) >= charged:
                    return txs
                await trio.sleep(0.25)


@dataclass(frozen=True)
class Crash:
    """What the calls were charged, and the chain and the ledger as the kill left them."""

    token: str  # the agent's
    first: int  # the call the killed settlement pays
    later: int  # the calls served while the worker was stuck in the window
    window: SettlementRecord
    found: Payment | None  # the window's payment on-chain, as the kill left it

    @property
    def charged(self) -> int:
        """Everything the calls were charged."""
        return self.first + self.later


async def _kill_in_window(stack: Stack, home: Path, chain: ChainFamily, point: str) -> Crash:
    """Serve calls on a gateway armed with the failpoint, SIGKILL it there, check the books."""
    token = await trio.to_thread.run_sync(_set_up, home, chain)
    failpoint = f"settlement.{point}"
    env = {**stack.env, "BITROUTER_FAILPOINTS": f"{failpoint}=pause"}
    armed = GatewayProcess(home, env, stack.tmp / "gateway-armed.log")
    stack.processes.append(armed)
    await trio.to_thread.run_sync(armed.ready)
    announced = re.compile(rf"settlement: failpoints armed .*: {failpoint}=pause")
    await trio.to_thread.run_sync(armed.wait_for, announced)

    (first,) = await trio.to_thread.run_sync(_chat, armed.url, token, "Hello number 1")
    await trio.to_thread.run_sync(armed.wait_for, re.compile(rf"failpoint {failpoint}: paused"))
    # The worker is stuck in the window; the gateway still serves (and charges) calls.
    later = await trio.to_thread.run_sync(_chat, armed.url, token, "Hello 2", "Hello 3")
    armed.kill9()

    crashed = await _books(home, chain)
    (window,) = crashed.journal  # the settlement the kill caught, and no other
    assert (window.status, window.amount, len(window.charge_ids)) == ("sending", first, 1)
    charged = first + sum(later)
    assert (crashed.spent, crashed.settled, crashed.unsettled) == (charged, 0, charged)
    found = crashed.payments[window.reference]
    seen = await trio.to_thread.run_sync(_reconcile, home, stack.env)
    if point == "after_pay":  # paid on-chain, unknown to the ledger; reconcile sees it
        assert found is not None and found.amount == first
        assert (crashed.chain_paid, crashed.payee_usdc) == (first, first)
        assert seen.returncode == 1 and "not recorded yet" in seen.stdout, seen.stdout
    else:  # journalled, nothing sent
        assert found is None
        assert (crashed.chain_paid, crashed.payee_usdc) == (0, 0)
        assert seen.returncode == 0, seen.stdout + seen.stderr
    return Crash(token, first, sum(later), window, found)


@pytest.mark.req("GW-SETTLE-2", "GW-SETTLE-4", "GW-FAIL-1")
@pytest.mark.parametrize(
    ("chain", "point"),
    [
        ("solana", "after_pay"),
        ("tempo", "after_pay"),
        ("solana", "before_pay"),
        ("tempo", "before_pay"),
    ],
)
async def test_a_gateway_killed_in_the_settlement_window_pays_each_charge_once(
    stack: Stack, user_home: Path, chain: ChainFamily, point: str
) -> None:
    stack.env.pop("BITROUTER_FAILPOINTS", None)  # the restarted gateway runs without any
    crash = await _kill_in_window(stack, user_home, chain, point)

    [restarted] = await trio.to_thread.run_sync(stack.gateways, user_home)
    txs = await _settled(restarted.url, crash.token, crash.charged)

    assert sorted(t["amount_micro_usd"] for t in txs) == sorted([crash.first, crash.later])
    (again,) = [t for t in txs if t["reference"] == crash.window.reference.hex()]
    if crash.found is not None:
        assert again["tx_id"] == crash.found.tx_id  # recorded as found on-chain, not paid again
    after = await _books(user_home, chain)
    assert len(after.journal) == 2 and {r.status for r in after.journal} == {"recorded"}
    for record in after.journal:  # one payment per reference, of the journalled amount
        paid = after.payments[record.reference]
        assert paid is not None and paid.amount == record.amount and paid.tx_id == record.tx_id
    # Nothing paid twice: the chain's own total, the payee's USDC and the ledger all say
    # exactly what the calls were charged.
    charged = crash.charged
    assert after.chain_paid == after.payee_usdc == after.settled == after.spent == charged
    assert after.unsettled == 0

    plain = await trio.to_thread.run_sync(_reconcile, user_home, stack.env)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert plain.stdout.startswith("reconcile: on-chain = ledger;"), plain.stdout
    done = await trio.to_thread.run_sync(_reconcile, user_home, stack.env, "--json")
    report = json.loads(done.stdout)
    assert report["ok"] is True and report["differences"] == []
    assert (report["onchain_paid"], report["ledger_settled"], report["unpaid"]) == (
        charged,
        charged,
        0,
    )
    (mine,) = [a for a in report["authorities"] if a["authority"] == after.authority]
    assert mine["chain_paid"] == charged
