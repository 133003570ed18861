"""EvmChain against the embedded node over real HTTP: the gateway's whole on-chain life cycle."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from eth_account import Account
from web3 import Web3

from gateway.chains._daemon import running_node
from gateway.chains._interface import ChainBackend
from gateway.chains.evm import EvmChain, open_evm_chain
from gateway.errors import ChainError, ConfigError
from gateway.settings import ChainSettings, Settings

if TYPE_CHECKING:
    from conftest import NodeControl

USDC = 1_000_000  # base units per USDC


def _keys() -> tuple[bytes, str]:
    secret = os.urandom(32)
    return secret, Account.from_key(secret).address


async def _granted(chain: EvmChain, per_tx: int, cumulative: int) -> tuple[bytes, str, bytes, str]:
    """A funded owner with an authority for a fresh agent, payable to a fresh payee."""
    owner_secret, owner = _keys()
    payee_secret, payee = _keys()
    _, agent = _keys()
    await chain.fund(owner, 10 * USDC)
    await chain.grant(owner_secret, agent, payee, per_tx, cumulative, int(time.time()) + 86_400)
    return owner_secret, agent, payee_secret, payee


@pytest.mark.req("EVM-BACKEND-1")
@pytest.mark.req("EVM-AUTH-1")
async def test_wallet_fund_grant_read_pay_revoke_round_trip(evm_chain: EvmChain) -> None:
    backend: ChainBackend = evm_chain
    owner_secret, owner = _keys()
    payee_secret, payee = _keys()
    _, agent = _keys()

    wallet = await backend.create_wallet(owner_secret)
    assert wallet.owner == wallet.usdc_account == owner
    assert await backend.usdc_balance(owner) == 0
    await backend.fund(owner, 10 * USDC)
    assert await backend.usdc_balance(owner) == 10 * USDC

    assert await backend.read_authority(owner, agent) is None
    expires = int(time.time()) + 86_400
    await backend.grant(owner_secret, agent, payee, 1 * USDC, 3 * USDC, expires)
    state = await backend.read_authority(owner, agent)
    assert state is not None
    assert (state.payee, state.per_tx_cap, state.cumulative_cap, state.paid) == (
        payee,
        USDC,
        3 * USDC,
        0,
    )
    assert (state.expires_at, state.revoked, state.spendable) == (expires, False, 3 * USDC)

    reference = os.urandom(32)
    sent = await backend.pay(payee_secret, owner, agent, 400_000, reference)
    assert await backend.usdc_balance(owner) == 10 * USDC - 400_000
    assert await backend.usdc_balance(payee) == 400_000
    found = await backend.find_payment(owner, agent, reference)
    assert found is not None
    assert (found.tx_id, found.amount, found.agent, found.reference) == (
        sent.tx_id,
        400_000,
        agent,
        reference,
    )
    assert await backend.find_payment(owner, agent, os.urandom(32)) is None
    state = await backend.read_authority(owner, agent)
    assert state is not None and (state.paid, state.remaining, state.spendable) == (
        400_000,
        3 * USDC - 400_000,
        3 * USDC - 400_000,
    )

    await backend.revoke(owner_secret, agent)
    state = await backend.read_authority(owner, agent)
    assert state is not None and state.revoked and state.spendable == 0
    with pytest.raises(ChainError) as refused:
        await backend.pay(payee_secret, owner, agent, 1, os.urandom(32))
    assert refused.value.code == "revoked"
    assert await backend.usdc_balance(payee) == 400_000


@pytest.mark.req("EVM-BACKEND-2")
async def test_refusals_are_chain_errors_naming_the_contract_error(evm_chain: EvmChain) -> None:
    owner_secret, agent, payee_secret, _ = await _granted(evm_chain, USDC, 2 * USDC)
    owner = Account.from_key(owner_secret).address
    reference = os.urandom(32)
    await evm_chain.pay(payee_secret, owner, agent, USDC, reference)

    cases = [
        (payee_secret, USDC + 1, os.urandom(32), "per_tx_cap_exceeded", "PerTxCapExceeded"),
        (payee_secret, USDC, reference, "reference_used", "ReferenceUsed"),
        (os.urandom(32), 1, os.urandom(32), "not_payee", "NotPayee"),
    ]
    for secret, amount, ref, code, name in cases:
        with pytest.raises(ChainError) as refused:
            await evm_chain.pay(secret, owner, agent, amount, ref)
        assert refused.value.code == code
        assert refused.value.message.startswith(f"tempo refused the payment: {name}(")
        assert "\n" not in refused.value.message
    with pytest.raises(ChainError) as bad_grant:
        await evm_chain.grant(owner_secret, agent, agent, 5, 4, int(time.time()) + 60)
    assert bad_grant.value.code == "invalid_caps"
    assert await evm_chain.usdc_balance(owner) == 9 * USDC


@pytest.mark.req("EVM-BACKEND-3")
async def test_fund_is_refused_outside_the_embedded_chain(evm_chain: EvmChain) -> None:
    plain = EvmChain(evm_chain.rpc_url, evm_chain.usdc_address, evm_chain.authority_address)
    try:
        _, owner = _keys()
        with pytest.raises(ChainError) as refused:
            await plain.fund(owner, USDC)
        assert refused.value.code == "fund_unavailable"
        assert await plain.usdc_balance(owner) == 0
    finally:
        plain.close()


@pytest.mark.req("EVM-BACKEND-3")
async def test_rpc_mode_uses_the_configured_contracts(evm_home: Path, evm_chain: EvmChain) -> None:
    tempo = ChainSettings(
        mode="rpc",
        rpc_url=evm_chain.rpc_url,
        usdc=evm_chain.usdc_address,
        authority_program=evm_chain.authority_address,
    )

    def settings(section: ChainSettings) -> Settings:
        return Settings.model_validate({"home": evm_home, "chains": {"tempo": section}})

    chain = await open_evm_chain(settings(tempo))
    try:
        _, owner = _keys()
        await evm_chain.fund(owner, 2 * USDC)
        assert await chain.usdc_balance(owner) == 2 * USDC
        assert not chain.embedded
    finally:
        chain.close()
    no_authority = tempo.model_copy(update={"authority_program": None})
    with pytest.raises(ConfigError, match=r"chains\.tempo\.authority_program is required"):
        await open_evm_chain(settings(no_authority))
    not_a_contract = tempo.model_copy(update={"authority_program": Account.create().address})
    with pytest.raises(ConfigError, match=r"no contract at chains\.tempo\.authority_program"):
        await open_evm_chain(settings(not_a_contract))


@pytest.mark.req("EVM-NODE-2")
async def test_restarted_node_keeps_balances_authorities_and_payments(
    evm_node: NodeControl, evm_chain: EvmChain
) -> None:
    owner_secret, agent, payee_secret, payee = await _granted(evm_chain, USDC, 5 * USDC)
    owner = Account.from_key(owner_secret).address
    reference = os.urandom(32)
    paid = await evm_chain.pay(payee_secret, owner, agent, 700_000, reference)
    before = await evm_chain.read_authority(owner, agent)
    old_url = evm_chain.rpc_url
    head = Web3(Web3.HTTPProvider(old_url)).eth.get_block("latest")

    assert evm_node.stop()
    # The backend finds its node gone and starts it again (ensure_node) on its own.
    assert await evm_chain.usdc_balance(owner) == 10 * USDC - 700_000
    new_url = running_node(evm_node.home, "tempo")
    assert new_url is not None and new_url != old_url and evm_chain.rpc_url == new_url

    chain = await open_evm_chain(Settings(home=evm_node.home))
    try:
        assert chain.rpc_url == new_url
        assert await chain.usdc_balance(owner) == 10 * USDC - 700_000
        assert await chain.usdc_balance(payee) == 700_000
        assert await chain.read_authority(owner, agent) == before
        found = await chain.find_payment(owner, agent, reference)
        assert found is not None and found.tx_id == paid.tx_id
        # Replay is deterministic: the same blocks, down to their hashes.
        replayed = Web3(Web3.HTTPProvider(new_url)).eth.get_block(head["number"])
        assert replayed["hash"] == head["hash"]
        await chain.pay(payee_secret, owner, agent, 300_000, os.urandom(32))
        assert await chain.usdc_balance(payee) == 1_000_000
    finally:
        chain.close()
