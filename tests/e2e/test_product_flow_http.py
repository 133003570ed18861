"""The product document's flow, end to end over HTTP on the embedded Solana and Tempo chains:
an agent authority granted on-chain, the agent's token (made by the ``keygen`` command that
``swig derive-agent`` prints) used with the openai SDK, the charges settled on-chain by the
gateway's worker and visible in /v1/balance, /v1/transactions, ``swig list-agents`` and
``ledger reconcile``."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from openai import OpenAI
from typer.testing import CliRunner

from gateway.chains._daemon import running_node, stop_node
from gateway.cli import app
from tests.conftest import make_settings

LABEL = "my-coding-agent"
_KEYGEN = re.compile(r"token\s+bitrouter (keygen --agent \S+ --chain \S+)")


@pytest.fixture
def user_home(home: Path) -> Iterator[Path]:
    """The user's home; its embedded chain nodes are stopped at the end."""
    try:
        yield home
    finally:
        for name in ("solana", "tempo"):
            stop_node(home, name)
            assert running_node(home, name) is None


def run(home: Path, *args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"BITROUTER_HOME": str(home)})
    assert result.exit_code == 0, (args, result.stderr)
    return result.stdout


@pytest.mark.req("GW-CLI-1", "GW-SETTLE-1", "GW-VIEW-1")
@pytest.mark.parametrize("chain", ["solana", "tempo"])
async def test_agent_calls_are_charged_settled_and_visible(
    user_home: Path, nursery: trio.Nursery, chain: str
) -> None:
    from gateway.http import serve

    def setup() -> str:
        run(user_home, "account", "--generate-key")
        run(user_home, "swig", "create-wallet", "--chain", chain)
        run(user_home, "swig", "fund", "--amount", "100000000", "--chain", chain)
        derived = run(
            user_home, "swig", "derive-agent", "--label", LABEL, "--per-tx-cap", "5000000",
            "--cumulative-cap", "50000000", "--expires-at", str(int(time.time()) + 86400),
            "--chain", chain,
        )  # fmt: skip
        keygen = _KEYGEN.search(derived)  # the command derive-agent tells the user to run
        assert keygen is not None, derived
        return run(user_home, *keygen.group(1).split(), "--exp", "1d", "--name", "agent").strip()

    token = await trio.to_thread.run_sync(setup)
    settings = make_settings(
        user_home, settlement={"interval_seconds": 0.5, "threshold_micro_usd": 1}
    )
    urls = await nursery.start(
        lambda task_status: serve(
            settings, host="127.0.0.1", port=0, handle_signals=False, task_status=task_status
        )
    )
    url = urls[0]

    def chat() -> list[Any]:
        client = OpenAI(base_url=f"{url}/v1", api_key=token, max_retries=0)
        return [
            client.chat.completions.create(
                model="moonshotai:kimi-k2.5",
                max_tokens=50,
                messages=[{"role": "user", "content": f"Hello number {i}"}],
            )
            for i in range(3)
        ]

    replies = await trio.to_thread.run_sync(chat)
    charged = sum((r.usage.model_extra or {})["cost_micro_usd"] for r in replies)
    assert charged > 0
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as c:
        with trio.fail_after(180):
            while True:
                txs = (await c.get("/v1/transactions")).json()["data"]
                if sum(t["amount_micro_usd"] for t in txs if t["status"] == "settled") >= charged:
                    break
                await trio.sleep(0.25)
        balance = (await c.get("/v1/balance")).json()
    assert all(t["tx_id"] for t in txs)
    assert balance["spent_micro_usd"] == charged
    assert balance["authority"]["cumulative_cap"] is not None
    (agent,) = [a for a in balance["agents"] if a.get("label", LABEL) == LABEL]
    assert (agent["chain"], agent["paid"]) == (chain, charged)
    assert [(w["chain"], w["address"]) for w in balance["wallets"]] == [(chain, agent["owner"])]
    listed = await trio.to_thread.run_sync(
        lambda: run(user_home, "swig", "list-agents", "--chain", chain, "--json")
    )
    (mine,) = [a for a in json.loads(listed) if a["label"] == LABEL]
    assert (mine["status"], mine["paid"]) == ("active", charged)
    reconciled = await trio.to_thread.run_sync(lambda: run(user_home, "ledger", "reconcile"))
    assert reconciled.startswith("reconcile: on-chain = ledger;"), reconciled
    nursery.cancel_scope.cancel()
