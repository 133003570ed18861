"""Default mode for real: a local gateway whose upstream is an operator gateway, over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import trio

from gateway.identity import Keystore, mint_token
from gateway.settings import Settings
from tests.conftest import make_settings

MODEL = "openai/gpt-4o-mini"


async def _serve(nursery: trio.Nursery, settings: Settings) -> str:
    from gateway.http import serve

    urls: list[str] = await nursery.start(
        lambda task_status: serve(
            settings, host="127.0.0.1", port=0, handle_signals=False, task_status=task_status
        )
    )
    return urls[0]


def _home(tmp_path: Path, name: str) -> tuple[Path, Keystore]:
    home = tmp_path / name
    home.mkdir(mode=0o700)
    keystore = Keystore(home)
    keystore.generate_master()
    return home, keystore


async def _usage(url: str, token: str, **params: str) -> list[dict[str, Any]]:
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, timeout=10, headers=headers) as client:
        response = await client.get("/v1/usage", params=params)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["data"]
    return rows


async def test_local_gateway_in_default_mode_is_served_and_charged_by_the_operator(
    tmp_path: Path,
) -> None:
    operator_home, operator_keys = _home(tmp_path, "operator")
    local_home, local_keys = _home(tmp_path, "local")
    agent = local_keys.create_agent("my-coding-agent").caip10("solana")
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            operator_url = await _serve(
                nursery, make_settings(operator_home, auth={"policy": "open"})
            )
            local_url = await _serve(
                nursery,
                make_settings(
                    local_home,
                    mode="default",
                    remote={"url": operator_url, "agent": "my-coding-agent", "chain": "solana"},
                ),
            )
            local_token = mint_token(local_keys)
            async with httpx.AsyncClient(
                base_url=local_url, timeout=30, headers={"authorization": f"Bearer {local_token}"}
            ) as client:
                listing = (await client.get("/v1/models")).json()["data"]
                reply = await client.post(
                    "/v1/chat/completions",
                    json={"model": MODEL, "messages": [{"role": "user", "content": "hello"}]},
                )
            assert reply.status_code == 200, reply.text
            body = reply.json()
            assert body["choices"][0]["message"]["content"].startswith("[simulated ")
            assert body["provider"].startswith("remote")

            offers = {m["id"]: m["providers"] for m in listing}
            assert [p["id"] for p in offers[MODEL]] == ["remote"]
            assert offers[MODEL][0]["routable"] is True
            async with httpx.AsyncClient(base_url=operator_url, timeout=10) as operator:
                upstream = (await operator.get("/v1/models")).json()["data"]
            operator_prices = [
                p["prices_micro_usd_per_mtok"]
                for m in upstream
                if m["id"] == MODEL
                for p in m["providers"]
                if p["routable"]
            ]
            assert offers[MODEL][0]["prices_micro_usd_per_mtok"] == min(
                operator_prices, key=lambda p: p["input"] + p["output"]
            )

            admin = mint_token(operator_keys, scope="admin")
            charged = await _usage(operator_url, admin, identity=agent)
            assert [r["subject"] for r in charged] == [MODEL]
            assert charged[0]["identity"] == agent
            assert charged[0]["cost_micro_usd"] > 0

            mine = await _usage(local_url, local_token)
            assert [r["subject"] for r in mine] == [MODEL]
            assert mine[0]["provider"] == "remote"
            assert mine[0]["cost_micro_usd"] > 0
            nursery.cancel_scope.cancel()
