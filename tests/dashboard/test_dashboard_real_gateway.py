"""The dashboard against the real gateway: after known calls, the terminal (80×24) shows the
figures that /v1/balance and /v1/usage/summary report."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import trio

from gateway.dashboard._format import usd
from tests.cli.terminal import ROOT, Terminal, bitrouter, clean_env

CHAT = {"messages": [{"role": "user", "content": "Hello"}], "max_tokens": 20}


@pytest.mark.req("DASH-VIEW")
async def test_dashboard_shows_the_real_ledger_figures(
    client: httpx.AsyncClient, served: str, home: Path
) -> None:
    for model in ("moonshotai:kimi-k2.5", "moonshotai:kimi-k2.5", "anthropic:claude-sonnet-4"):
        r = await client.post("/v1/chat/completions", json={"model": model, **CHAT})
        assert r.status_code == 200, r.text
    balance = (await client.get("/v1/balance")).json()
    summary = (await client.get("/v1/usage/summary", params={"group_by": "model"})).json()

    def look() -> tuple[str, str]:
        term = Terminal(
            bitrouter("dashboard", "--url", served, "--interval", "1"), clean_env(home), ROOT
        )
        try:
            spent = f"Spent {usd(balance['spent_micro_usd'])}"
            overview = term.wait_for(lambda s: spent in s, timeout=120)
            term.press("2")
            spend = term.wait_for("Spend by model\n", timeout=60)
            term.press("q")
            assert term.wait_exit(timeout=30) == 0
            return overview, spend
        finally:
            term.close()

    overview, spend = await trio.to_thread.run_sync(look)
    assert f"{balance['requests']} requests" in overview
    assert all(len(line) <= 80 for line in overview.splitlines())
    for row in summary["data"]:
        assert row["key"] in spend and usd(row["cost_micro_usd"]) in spend
        assert f"{row['requests']} req" in spend
