"""Which tokens map to an on-chain authority, the ``onchain`` access policy, and chains that
open only when needed."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.chains._daemon import running_node
from gateway.errors import Forbidden
from gateway.identity import (
    AccessPolicy,
    Claims,
    Keystore,
    MemoryRevocationStore,
    SystemClock,
    TokenCodec,
    Verifier,
    WalletKey,
    issue_claims,
    read_unverified,
)
from gateway.ledger import Ledger
from gateway.onchain import open_onchain
from gateway.settings import AuthSettings
from tests.conftest import make_settings

from .conftest import USDC, World, agent_principal, new_agent, onchain_of


def _remote_token(agent: WalletKey, owner: WalletKey | None) -> str:
    """A token of another home's agent: ``keygen --agent`` there puts its owner in the token."""
    now = int(time.time())
    claims = issue_claims(
        agent, "solana", scope="api", iat=now, exp=now + 600, agent="remote", owner=owner
    )
    return TokenCodec().sign(claims, agent)


def _verifier(keystore: Keystore, policy: str, onchain: object | None) -> Verifier:
    settings = AuthSettings(policy=policy)  # type: ignore[arg-type]
    access = AccessPolicy(settings, keystore, clock=SystemClock(), onchain=onchain)  # type: ignore[arg-type]
    return Verifier(settings, access, MemoryRevocationStore())


@pytest.mark.req("GW-AUTH-1", "GW-AUTH-3")
async def test_tokens_map_to_authorities_found_on_chain(
    world: World, ledger: Ledger, tmp_path: Path
) -> None:
    async with onchain_of(world, ledger, tmp_path) as onchain:
        grant = await new_agent(onchain, "solana")
        local = await agent_principal(world, grant)
        assert local.claims.owner == world.keystore.master().caip10("solana")
        master = world.keystore.master().caip10("solana")
        assert await onchain.authority_for(master) is None  # a master key pays no authority
        bare = world.keystore.create_agent(f"bare-{secrets.token_hex(3)}")  # never granted
        assert await onchain.authority_for(bare.caip10("solana")) is None
        assert (
            await onchain.authority_for(WalletKey(secrets.token_bytes(32)).caip10("solana")) is None
        )

        # Another home: its owner grants its agent an authority payable to this gateway.
        owner, agent = WalletKey(secrets.token_bytes(32)), WalletKey(secrets.token_bytes(32))
        backend = await onchain.chains.get("solana")
        await backend.create_wallet(owner.solana_secret)
        await backend.fund(owner.solana_address, 10 * USDC)
        ours = onchain.parties.payee("solana").solana_address
        await backend.grant(
            owner.solana_secret, agent.solana_address, ours, USDC, 5 * USDC, int(time.time()) + 600
        )
        token = _remote_token(agent, owner)
        assert read_unverified(token)[1]["owner"] == owner.caip10("solana")

        verifier = _verifier(world.keystore, "onchain", onchain.onchain_policy)
        remote = await verifier.verify(token, scope="api")
        limits = await onchain.authority_of(remote)
        assert limits is not None and (limits.per_tx_cap, limits.cumulative_cap) == (
            USDC,
            5 * USDC,
        )
        stranger = WalletKey(secrets.token_bytes(32))
        with pytest.raises(Forbidden):  # a wallet without an authority here is not served
            await verifier.verify(_remote_token(stranger, owner), scope="api")
        # Without the owner claim a gateway that saw the agent before still knows where to look.
        assert await onchain.authority_for(agent.caip10("solana")) == limits

        # An authority that pays someone else is no reason to serve its agent here.
        elsewhere = WalletKey(secrets.token_bytes(32))
        await backend.grant(
            owner.solana_secret,
            elsewhere.solana_address,
            owner.solana_address,
            USDC,
            2 * USDC,
            int(time.time()) + 600,
        )
        with pytest.raises(Forbidden):
            await verifier.verify(_remote_token(elsewhere, owner), scope="api")


@pytest.mark.req("GW-CHAINS-1")
async def test_chains_open_only_when_needed(home: Path, ledger: Ledger) -> None:
    Keystore(home).generate_master()
    settings = make_settings(home)
    async with open_onchain(settings, ledger, Keystore(home)) as onchain:
        master = Keystore(home).master()
        assert await onchain.authority_for(master.caip10("solana")) is None
        assert await onchain.authority_for(master.caip10("evm")) is None
        # An agent key of a home that never made a wallet: no grant, and no node started.
        agent = Keystore(home).create_agent("never-granted")
        assert await onchain.authority_for(agent.caip10("solana")) is None
        assert await onchain.authority_for(agent.caip10("evm")) is None
        assert await onchain.transactions(None) == []
        report = await onchain.settle_now()
        assert (report.payments, report.recovered) == (0, 0)
        assert onchain.chains.opened() == ()
    assert running_node(home, "solana") is None and running_node(home, "tempo") is None


@pytest.mark.req("GW-AUTH-3")
def test_the_owner_claim_must_be_an_account_of_the_issuers_namespace() -> None:
    agent, owner = WalletKey(secrets.token_bytes(32)), WalletKey(secrets.token_bytes(32))
    fields = {"iss": agent.caip10("solana"), "chain": agent.caip10("solana").rsplit(":", 1)[0]}
    assert Claims(**fields, scope="api", owner=owner.caip10("solana")).owner == owner.caip10(
        "solana"
    )
    with pytest.raises(ValidationError, match="issuer's chain namespace"):
        Claims(**fields, scope="api", owner=owner.caip10("evm"))
    with pytest.raises(ValidationError, match="owner is not a CAIP-10 account"):
        Claims(**fields, scope="api", owner=owner.solana_address)
