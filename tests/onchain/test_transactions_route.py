"""``GET /v1/transactions`` on its own blueprint, over a real verifier and settlement journal
(the full gateway serves it once the runtime carries the on-chain service)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from quart_trio import QuartTrio

from gateway.errors import GatewayError
from gateway.http import _transactions
from gateway.http._respond import on_gateway_error
from gateway.identity import (
    AccessPolicy,
    Keystore,
    MemoryRevocationStore,
    SystemClock,
    Verifier,
    mint_token,
)
from gateway.onchain import AgentRecord, Onchain, SettlementRecord, authority_key, open_onchain
from gateway.settings import AuthSettings
from tests.conftest import make_settings


@dataclass
class _Runtime:
    verifier: Verifier
    onchain: Onchain


def _record(authority: str, owner: str, amount: int) -> SettlementRecord:
    return SettlementRecord(
        reference=secrets.token_bytes(32),
        chain="solana",
        authority=authority,
        owner=owner,
        agent=authority.rsplit(":", 1)[1],
        payee="payee",
        amount=amount,
        charge_ids=(1, 2),
        status="sending",
        tx_id=None,
        error=None,
        error_code=None,
        created_at=time.time(),
    )


@pytest.mark.req("GW-VIEW-1")
async def test_callers_see_their_own_settlements(home: Path) -> None:
    keystore = Keystore(home)
    master, _ = keystore.generate_master()
    agent = keystore.create_agent("coder")
    other = keystore.create_agent("other")
    settings = make_settings(home)
    auth = AuthSettings()
    verifier = Verifier(
        auth, AccessPolicy(auth, keystore, clock=SystemClock()), MemoryRevocationStore()
    )
    async with open_onchain(settings, None, keystore) as onchain:
        mine = authority_key("solana", agent.solana_address)
        theirs = authority_key("solana", other.solana_address)
        for key, amount in ((mine, 4_000_000), (theirs, 1_000_000)):
            record = _record(key, master.solana_address, amount)
            await onchain.store.remember_agent(
                AgentRecord(key, "solana", master.solana_address, record.agent, None, time.time())
            )
            await onchain.store.begin(record)
            await onchain.store.finish(
                record.reference, "recorded", time.time(), tx_id=f"tx-{amount}"
            )

        app = QuartTrio("test")
        app.register_blueprint(_transactions.blueprint())
        app.register_error_handler(GatewayError, on_gateway_error)
        app.extensions["bitrouter"] = _Runtime(verifier, onchain)
        client = app.test_client()

        def bearer(token: str) -> dict[str, str]:
            return {"authorization": f"Bearer {token}"}

        as_agent = await client.get(
            "/v1/transactions", headers=bearer(mint_token(keystore, agent="coder"))
        )
        body = await as_agent.get_json()
        assert as_agent.status_code == 200 and body["object"] == "list"
        assert [
            (t["agent"], t["amount_micro_usd"], t["tx_id"], t["status"]) for t in body["data"]
        ] == [(mine, 4_000_000, "tx-4000000", "settled")]
        as_owner = await client.get("/v1/transactions", headers=bearer(mint_token(keystore)))
        assert {t["agent"] for t in (await as_owner.get_json())["data"]} == {mine, theirs}
        nosy = await client.get(
            "/v1/transactions",
            query_string={"identity": theirs},
            headers=bearer(mint_token(keystore, agent="coder")),
        )
        assert nosy.status_code == 400
        assert (await nosy.get_json())["error"]["param"] == "identity"
        unauthenticated = await client.get("/v1/transactions")
        assert unauthenticated.status_code == 401
