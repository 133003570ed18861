"""Default mode with on-chain settlement: the local agent holds an authority on the operator's
chain (payable to the operator), the local gateway's call is served and charged by the operator,
settled from that authority on-chain, and shown by the local usage view."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import trio
from typer.testing import CliRunner

from gateway.chains._daemon import ensure_node, running_node, stop_node
from gateway.cli import app
from gateway.identity import Keystore, mint_token
from gateway.settings import Settings
from tests.conftest import make_settings

LABEL = "my-coding-agent"


def run(home: Path, *args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"BITROUTER_HOME": str(home)})
    assert result.exit_code == 0, (args, result.stderr)
    return result.stdout


def rpc(url: str, method: str, *params: Any) -> Any:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    answer = httpx.post(url, json=body, timeout=30).json()
    assert "error" not in answer, answer
    return answer["result"]


async def _serve(nursery: trio.Nursery, settings: Settings) -> str:
    from gateway.http import serve

    urls: list[str] = await nursery.start(
        lambda task_status: serve(
            settings, host="127.0.0.1", port=0, handle_signals=False, task_status=task_status
        )
    )
    return urls[0]


async def test_default_mode_charge_is_settled_from_the_agents_authority(tmp_path: Path) -> None:
    operator, local = tmp_path / "operator", tmp_path / "local"
    for home in (operator, local):
        home.mkdir(mode=0o700)
        Keystore(home).generate_master()
    payee = Keystore(operator).create_agent("operator").solana_address
    try:
        node = await trio.to_thread.run_sync(
            lambda: ensure_node(operator, "solana", "gateway.chains.solana.node")
        )
        config = await trio.to_thread.run_sync(lambda: rpc(node, "bitrouter_getConfig"))
        chain = {
            "mode": "rpc",
            "rpc_url": node,
            "usdc": config["usdc_mint"],
            "authority_program": config["caps_program"],
        }
        (local / "bitrouter.yaml").write_text(
            "chains:\n  solana:\n" + "".join(f"    {k}: {v}\n" for k, v in chain.items())
        )
        owner = Keystore(local).master().solana_address

        def grant() -> None:
            rpc(node, "requestAirdrop", owner, 2_000_000_000)
            run(local, "swig", "create-wallet", "--chain", "solana")
            rpc(node, "bitrouter_fundUsdc", owner, 100_000_000)
            run(
                local,
                "swig",
                "derive-agent",
                "--label",
                LABEL,
                "--per-tx-cap",
                "5000000",
                "--cumulative-cap",
                "50000000",
                "--expires-at",
                str(int(time.time()) + 86400),
                "--payee",
                payee,
                "--chain",
                "solana",
            )

        await trio.to_thread.run_sync(grant)
        async with trio.open_nursery() as nursery:
            operator_url = await _serve(
                nursery,
                make_settings(
                    operator,
                    auth={"policy": "onchain"},
                    settlement={"interval_seconds": 0.5, "threshold_micro_usd": 1},
                ),
            )
            local_url = await _serve(
                nursery,
                make_settings(
                    local,
                    mode="default",
                    chains={"solana": chain},
                    remote={"url": operator_url, "agent": LABEL, "chain": "solana"},
                    settlement={"enabled": False},
                ),
            )
            token = mint_token(Keystore(local))
            headers = {"authorization": f"Bearer {token}"}
            agent_token = mint_token(Keystore(local), agent=LABEL)
            async with httpx.AsyncClient(timeout=30) as http:
                r = await http.post(
                    f"{local_url}/v1/chat/completions",
                    headers=headers,
                    json={
                        "model": "moonshotai:kimi-k2.5",
                        "max_tokens": 40,
                        "messages": [{"role": "user", "content": "Hello operator"}],
                    },
                )
                assert r.status_code == 200, r.text
                cost = r.json()["usage"]["cost_micro_usd"]
                with trio.fail_after(60):
                    while True:
                        txs = (
                            await http.get(
                                f"{operator_url}/v1/transactions",
                                headers={"authorization": f"Bearer {agent_token}"},
                            )
                        ).json()["data"]
                        if any(t["status"] == "settled" for t in txs):
                            break
                        await trio.sleep(0.25)
                local_usage = (await http.get(f"{local_url}/v1/usage", headers=headers)).json()
            nursery.cancel_scope.cancel()
        assert sum(t["amount_micro_usd"] for t in txs if t["status"] == "settled") >= cost > 0
        assert all(t["tx_id"] for t in txs)
        assert local_usage["data"][0]["provider"] == "remote"
        assert local_usage["data"][0]["cost_micro_usd"] == cost
        listed = await trio.to_thread.run_sync(
            lambda: run(local, "swig", "list-agents", "--chain", "solana", "--json")
        )
        assert '"paid": 0' not in listed
    finally:
        for home in (operator, local):
            for name in ("solana", "tempo"):
                stop_node(home, name)
                assert running_node(home, name) is None
