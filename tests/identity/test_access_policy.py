from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gateway.errors import ConfigError, Forbidden
from gateway.identity import (
    AccessPolicy,
    Keystore,
    MemoryRevocationStore,
    Principal,
    Verifier,
    WalletKey,
)
from gateway.settings import AuthSettings

Mint = Callable[..., str]
MakeVerifier = Callable[..., tuple[Verifier, MemoryRevocationStore]]
STRANGER = WalletKey(b"\x42" * 32)


@pytest.mark.req("AUTH-POL-1")
async def test_local_serves_only_the_master_and_its_agents(
    keystore: Keystore, master: WalletKey, mint: Mint, make_verifier: MakeVerifier, clock: Any
) -> None:
    verifier, _ = make_verifier()  # "local" is the default
    for family in ("solana", "evm"):
        assert (await verifier.verify(mint(master, family), scope="api")).address == master.address(
            family
        )
    with pytest.raises(Forbidden, match="does not serve this issuer") as info:
        await verifier.verify(mint(STRANGER), scope="api")
    assert info.value.status == 403 and info.value.code == "issuer_not_allowed"

    # An agent created while the gateway runs is served within a second.
    agent = keystore.create_agent("late")
    token = mint(agent, "evm", agent="late")
    clock.t += 1
    principal = await verifier.verify(token, scope="api")
    assert principal.agent == "late" and principal.identity == agent.caip10("evm")


@pytest.mark.req("AUTH-POL-1")
async def test_a_replaced_master_key_stops_being_served(
    keystore: Keystore, master: WalletKey, mint: Mint, make_verifier: MakeVerifier, clock: Any
) -> None:
    verifier, _ = make_verifier()
    old = mint(master)
    await verifier.verify(old, scope="api")
    new, _ = keystore.generate_master(force=True)
    clock.t += 1
    with pytest.raises(Forbidden):
        await verifier.verify(old, scope="api")
    await verifier.verify(mint(new), scope="api")


@pytest.mark.req("AUTH-POL-1")
async def test_open_serves_any_wallet(mint: Mint, make_verifier: MakeVerifier) -> None:
    verifier, _ = make_verifier(policy="open")
    assert (
        await verifier.verify(mint(STRANGER, "evm"), scope="api")
    ).address == STRANGER.evm_address


@pytest.mark.req("AUTH-POL-1")
async def test_allowlist_by_account_or_address(
    master: WalletKey, mint: Mint, make_verifier: MakeVerifier
) -> None:
    friend, other = WalletKey(b"\x01" * 32), WalletKey(b"\x02" * 32)
    verifier, _ = make_verifier(
        policy="allowlist",
        allow=[friend.caip10("solana"), other.evm_address.lower()],
    )
    await verifier.verify(mint(master), scope="api")  # the home's keys always
    await verifier.verify(mint(friend), scope="api")
    await verifier.verify(mint(other, "evm"), scope="api")  # bare address, any case
    with pytest.raises(Forbidden, match="allowlist"):
        await verifier.verify(mint(friend, "evm"), scope="api")  # only the Solana account
    with pytest.raises(Forbidden):
        await verifier.verify(mint(STRANGER), scope="api")


@pytest.mark.req("AUTH-POL-1")
async def test_onchain_predicate(
    master: WalletKey, mint: Mint, make_verifier: MakeVerifier
) -> None:
    asked: list[str] = []

    async def has_authority(principal: Principal) -> bool:
        asked.append(principal.identity)
        return principal.address == STRANGER.evm_address

    verifier, _ = make_verifier(policy="onchain", onchain=has_authority)
    await verifier.verify(mint(STRANGER, "evm"), scope="api")
    with pytest.raises(Forbidden, match="onchain"):
        await verifier.verify(mint(STRANGER, "solana"), scope="api")
    await verifier.verify(mint(master), scope="api")
    assert asked == [STRANGER.caip10("evm"), STRANGER.caip10("solana")]


def test_policy_settings_errors(keystore: Keystore, clock: Any) -> None:
    with pytest.raises(ConfigError, match="needs the chain layer"):
        AccessPolicy(AuthSettings(policy="onchain"), keystore, clock=clock)
    with pytest.raises(ConfigError, match=r"auth\.allow\[1\]: not a CAIP-10 account or address"):
        AccessPolicy(
            AuthSettings(policy="allowlist", allow=(STRANGER.solana_address, "0xnothex")),
            keystore,
            clock=clock,
        )
