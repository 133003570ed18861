"""Spending through HTTP: a token's budget refuses with 402 before anything goes upstream,
every call shows in the caller's usage views, and a revoked token is refused at once."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from gateway.identity import Keystore, mint_token

CHAT = {
    "model": "moonshotai:kimi-k2.5",
    "messages": [{"role": "user", "content": "Hi"}],
    "max_tokens": 20,
}


def auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_calls_show_in_usage_summary_and_balance(client: httpx.AsyncClient) -> None:
    for _ in range(2):
        r = await client.post("/v1/chat/completions", json=CHAT)
        assert r.status_code == 200, r.text
    cost = r.json()["usage"]["cost_micro_usd"]
    usage = (await client.get("/v1/usage")).json()
    assert len(usage["data"]) == 2
    row = usage["data"][0]
    assert row["subject"] == "moonshotai/kimi-k2.5" and row["cost_micro_usd"] == cost
    summary = (await client.get("/v1/usage/summary", params={"group_by": "model"})).json()
    assert summary["data"][0]["key"] == "moonshotai/kimi-k2.5"
    assert summary["data"][0]["requests"] == 2
    assert summary["total_cost_micro_usd"] == sum(r["cost_micro_usd"] for r in usage["data"])
    balance = (await client.get("/v1/balance")).json()
    assert balance["spent_micro_usd"] == summary["total_cost_micro_usd"]
    assert balance["reserved_micro_usd"] == 0


async def test_a_budget_refuses_with_402_before_going_upstream(
    served: str, home: Path, client: httpx.AsyncClient
) -> None:
    first = await client.post("/v1/chat/completions", json=CHAT)
    one_call = first.json()["usage"]["cost_micro_usd"]
    keystore = Keystore(home)
    budget = one_call * 3 + one_call // 2
    token = mint_token(keystore, budget=budget, budget_scope="session")
    async with httpx.AsyncClient(base_url=served, headers=auth(token), timeout=10) as c:
        statuses = [(await c.post("/v1/chat/completions", json=CHAT)).status_code for _ in range(6)]
        refused = await c.post("/v1/chat/completions", json=CHAT)
        balance = (await c.get("/v1/balance")).json()
    assert statuses.count(200) >= 1 and statuses[-1] == 402
    assert refused.json()["error"]["code"] == "budget_exhausted"
    assert balance["budget"]["used"] <= budget


async def test_usage_of_others_needs_an_admin_token(
    client: httpx.AsyncClient, served: str, home: Path
) -> None:
    r = await client.get("/v1/usage", params={"identity": "solana:x:someone"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "identity"
    admin = mint_token(Keystore(home), scope="admin", ttl_seconds=300)
    async with httpx.AsyncClient(base_url=served, headers=auth(admin), timeout=10) as c:
        assert (
            await c.get("/v1/usage", params={"identity": "solana:x:someone"})
        ).status_code == 200


@pytest.mark.parametrize("scope", ["api"])
async def test_revoked_token_is_refused_on_the_next_request(
    client: httpx.AsyncClient, served: str, home: Path, scope: str
) -> None:
    keystore = Keystore(home)
    victim = mint_token(keystore)
    async with httpx.AsyncClient(base_url=served, headers=auth(victim), timeout=10) as c:
        assert (await c.get("/v1/balance")).status_code == 200
        from gateway.identity import read_unverified

        jti = read_unverified(victim)[1]["jti"]
        admin = mint_token(keystore, scope="admin", ttl_seconds=300)
        r = await client.post("/v1/admin/revocations", json={"jti": jti}, headers=auth(admin))
        assert r.status_code == 200, r.text
        refused = await c.get("/v1/balance")
    assert refused.status_code == 401
    assert (await client.post("/v1/admin/revocations", json={"jti": jti})).status_code == 403
