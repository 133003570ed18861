"""SolanaChain against the embedded node: real HTTP, solana-py's AsyncClient, LiteSVM behind it.

The on-chain refusals are proven by sending transactions straight to the chain, past every
check the backend makes: what is refused there is refused by the SPL Token program itself.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest
import trio
from solana.rpc.async_api import AsyncClient
from solana.rpc.core import RPCException
from solana.rpc.models import TxOpts
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.rpc.errors import SendTransactionPreflightFailureMessage
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction
from spl.memo.constants import MEMO_PROGRAM_ID
from spl.memo.instructions import create_memo
from spl.memo.models import MemoParams
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import (
    create_idempotent_associated_token_account,
    get_associated_token_address,
    transfer_checked,
)
from spl.token.models import TransferCheckedParams

from gateway.chains.solana import SolanaChain, open_solana
from gateway.errors import ChainError
from gateway.settings import ChainSettings

USDC = 1_000_000
INSUFFICIENT_FUNDS, OWNER_MISMATCH = 1, 4


async def _send(
    rpc: AsyncClient, signer: Keypair, instructions: list[Any], *, preflight: bool
) -> Signature:
    blockhash = (await rpc.get_latest_blockhash()).value.blockhash
    message = MessageV0.try_compile(signer.pubkey(), instructions, [], blockhash)
    tx = VersionedTransaction(message, [signer])
    opts = TxOpts(skip_preflight=not preflight)
    return (await rpc.send_raw_transaction(bytes(tx), opts)).value


def _delegated_transfer(signer: Keypair, source: Pubkey, mint: Pubkey, amount: int) -> list[Any]:
    dest = get_associated_token_address(signer.pubkey(), mint)
    params = TransferCheckedParams(
        program_id=TOKEN_PROGRAM_ID,
        source=source,
        mint=mint,
        dest=dest,
        owner=signer.pubkey(),
        amount=amount,
        decimals=6,
    )
    create = create_idempotent_associated_token_account(signer.pubkey(), signer.pubkey(), mint)
    return [create, transfer_checked(params)]


async def _token_amount(rpc: AsyncClient, account: Pubkey) -> int:
    return int((await rpc.get_token_account_balance(account)).value.amount)


async def _refusal_code(
    rpc: AsyncClient, signer: Keypair, source: Pubkey, mint: str, amount: int
) -> int:
    """Send a delegated transfer directly; the SPL Token error code, proven twice: in the
    preflight simulation (a real JSON-RPC error with logs) and in the landed, failed transaction."""
    await rpc.request_airdrop(signer.pubkey(), 10**9)
    instructions = _delegated_transfer(signer, source, Pubkey.from_string(mint), amount)
    with pytest.raises(RPCException) as refused:
        await _send(rpc, signer, instructions, preflight=True)
    error = refused.value.args[0]
    assert isinstance(error, SendTransactionPreflightFailureMessage)
    assert error.data.err.index == 1
    assert any("custom program error" in line for line in error.data.logs or [])
    preflight_code = error.data.err.err.code

    landed = await _send(rpc, signer, instructions, preflight=False)
    status = (await rpc.get_signature_statuses([landed])).value[0]
    assert status is not None and status.err is not None
    assert status.err.err.code == preflight_code
    return int(preflight_code)


@pytest.mark.req("SOL-WALLET", "SOL-GRANT", "SOL-PAY", "SOL-FIND")
async def test_wallet_fund_grant_pay_and_find(chain: SolanaChain, new_parties: Any) -> None:
    parties = new_parties()
    wallet = await chain.create_wallet(parties.owner_secret)
    assert wallet.owner == parties.owner
    assert wallet == await chain.create_wallet(parties.owner_secret)  # idempotent
    await chain.fund(parties.owner, 20 * USDC)
    assert await chain.usdc_balance(parties.owner) == 20 * USDC

    expires_at = await chain.chain_time() + 3600
    await chain.grant(
        parties.owner_secret, parties.agent, parties.payee, 2 * USDC, 5 * USDC, expires_at
    )
    assert await chain.usdc_balance(parties.owner) == 15 * USDC  # the cap moved to the agent
    authority = await chain.read_authority(parties.owner, parties.agent)
    assert authority is not None
    assert (authority.payee, authority.per_tx_cap, authority.cumulative_cap) == (
        parties.payee,
        2 * USDC,
        5 * USDC,
    )
    assert (authority.expires_at, authority.paid, authority.revoked) == (expires_at, 0, False)
    assert authority.spendable == 5 * USDC

    reference = secrets.token_bytes(32)
    paid = await chain.pay(parties.payee_secret, parties.owner, parties.agent, 1_500_000, reference)
    after = await chain.read_authority(parties.owner, parties.agent)
    assert after is not None
    assert (after.paid, after.remaining, after.spendable) == (1_500_000, 3_500_000, 3_500_000)

    payment = await chain.find_payment(parties.owner, parties.agent, reference)
    assert payment is not None
    assert (payment.tx_id, payment.amount, payment.reference, payment.agent) == (
        paid.tx_id,
        1_500_000,
        reference,
        parties.agent,
    )
    assert await chain.find_payment(parties.owner, parties.agent, secrets.token_bytes(32)) is None


@pytest.mark.req("SOL-REF")
async def test_a_reference_pays_once(chain: SolanaChain, grant_new: Any) -> None:
    parties = await grant_new(per_tx_cap=2 * USDC, cumulative_cap=5 * USDC)
    reference = secrets.token_bytes(32)
    first = await chain.pay(parties.payee_secret, parties.owner, parties.agent, USDC, reference)
    again = await chain.pay(parties.payee_secret, parties.owner, parties.agent, USDC, reference)
    assert again == first
    authority = await chain.read_authority(parties.owner, parties.agent)
    assert authority is not None and authority.paid == USDC
    with pytest.raises(ChainError) as refused:
        await chain.pay(parties.payee_secret, parties.owner, parties.agent, 2, reference)
    assert refused.value.code == "reference_used"


@pytest.mark.req("SOL-CUMULATIVE", "SOL-ERRORS")
async def test_spl_token_refuses_transfers_past_the_cumulative_cap(
    chain: SolanaChain, rpc: AsyncClient, grant_new: Any
) -> None:
    # The per-tx cap is above the cumulative cap, so only the chain stands in the way.
    parties = await grant_new(per_tx_cap=10 * USDC, cumulative_cap=3 * USDC, funded=10 * USDC)
    source, mint = parties.agent_account, chain.usdc_mint
    payee = parties.payee_key
    await rpc.request_airdrop(payee.pubkey(), 10**9)
    await _send(
        rpc,
        payee,
        _delegated_transfer(payee, source, Pubkey.from_string(mint), 2 * USDC),
        preflight=True,
    )

    assert await _refusal_code(rpc, payee, source, mint, 2 * USDC) == INSUFFICIENT_FUNDS
    assert await _token_amount(rpc, source) == USDC

    with pytest.raises(ChainError) as refused:
        await chain.pay(
            parties.payee_secret, parties.owner, parties.agent, 2 * USDC, secrets.token_bytes(32)
        )
    assert refused.value.code == "insufficient_funds"
    assert "allowance" in refused.value.message


@pytest.mark.req("SOL-REVOKE")
async def test_spl_token_refuses_after_revoke(
    chain: SolanaChain, rpc: AsyncClient, grant_new: Any
) -> None:
    parties = await grant_new(per_tx_cap=2 * USDC, cumulative_cap=5 * USDC, funded=10 * USDC)
    await chain.pay(
        parties.payee_secret, parties.owner, parties.agent, USDC, secrets.token_bytes(32)
    )
    await chain.revoke(parties.owner_secret, parties.agent)

    authority = await chain.read_authority(parties.owner, parties.agent)
    assert authority is not None
    assert (authority.revoked, authority.paid, authority.spendable) == (True, USDC, 0)
    assert await chain.usdc_balance(parties.owner) == 9 * USDC  # the rest came back

    # Put USDC back into the agent's account, so that only the missing delegation can refuse.
    owner = Keypair.from_seed(parties.owner_secret)
    mint = Pubkey.from_string(chain.usdc_mint)
    refill = TransferCheckedParams(
        program_id=TOKEN_PROGRAM_ID,
        source=get_associated_token_address(owner.pubkey(), mint),
        mint=mint,
        dest=parties.agent_account,
        owner=owner.pubkey(),
        amount=USDC,
        decimals=6,
    )
    await _send(rpc, owner, [transfer_checked(refill)], preflight=True)
    code = await _refusal_code(rpc, parties.payee_key, parties.agent_account, chain.usdc_mint, 1)
    assert code == OWNER_MISMATCH
    with pytest.raises(ChainError) as refused:
        await chain.pay(
            parties.payee_secret, parties.owner, parties.agent, 1, secrets.token_bytes(32)
        )
    assert refused.value.code == "authority_revoked"


@pytest.mark.req("SOL-DELEGATE")
async def test_spl_token_refuses_a_stranger(
    chain: SolanaChain, rpc: AsyncClient, grant_new: Any
) -> None:
    parties = await grant_new(per_tx_cap=2 * USDC, cumulative_cap=5 * USDC)
    stranger = Keypair()
    code = await _refusal_code(rpc, stranger, parties.agent_account, chain.usdc_mint, 1)
    assert code == OWNER_MISMATCH
    assert await _token_amount(rpc, parties.agent_account) == 5 * USDC
    with pytest.raises(ChainError) as refused:
        await chain.pay(
            bytes(stranger.secret()), parties.owner, parties.agent, 1, secrets.token_bytes(32)
        )
    assert refused.value.code == "wrong_payee"


@pytest.mark.req("SOL-PERTX", "SOL-EXPIRY")
async def test_gateway_refuses_over_the_per_tx_cap_and_after_expiry(
    chain: SolanaChain, grant_new: Any
) -> None:
    parties = await grant_new(per_tx_cap=USDC, cumulative_cap=5 * USDC, expires_in=600)
    with pytest.raises(ChainError) as over:
        await chain.pay(
            parties.payee_secret, parties.owner, parties.agent, USDC + 1, secrets.token_bytes(32)
        )
    assert over.value.code == "spending_cap_exceeded"
    await chain.pay(
        parties.payee_secret, parties.owner, parties.agent, USDC, secrets.token_bytes(32)
    )

    await chain.advance_clock(601)
    with pytest.raises(ChainError) as expired:
        await chain.pay(
            parties.payee_secret, parties.owner, parties.agent, 1, secrets.token_bytes(32)
        )
    assert expired.value.code == "authority_expired"
    authority = await chain.read_authority(parties.owner, parties.agent)
    assert authority is not None and authority.paid == USDC  # nothing was sent


@pytest.mark.req("SOL-RECORD")
async def test_a_forged_grant_record_is_ignored(
    chain: SolanaChain, rpc: AsyncClient, grant_new: Any
) -> None:
    parties = await grant_new(per_tx_cap=USDC, cumulative_cap=5 * USDC)
    stranger = Keypair()
    await rpc.request_airdrop(stranger.pubkey(), 10**9)
    forged = (
        'bitrouter/grant/v1 {"cumulative_cap":5000000,"expires_at":9999999999,'
        f'"payee":"{stranger.pubkey()}","per_tx_cap":5000000}}'
    )
    touch = transfer(
        TransferParams(from_pubkey=stranger.pubkey(), to_pubkey=parties.agent_account, lamports=1)
    )
    memo = create_memo(
        MemoParams(program_id=MEMO_PROGRAM_ID, signer=stranger.pubkey(), message=forged.encode())
    )
    await _send(rpc, stranger, [touch, memo], preflight=True)

    authority = await chain.read_authority(parties.owner, parties.agent)
    assert authority is not None
    assert (authority.payee, authority.per_tx_cap) == (parties.payee, USDC)


@pytest.mark.req("SOL-WALLET", "SOL-MODES")
async def test_rpc_mode_reads_the_chain_but_has_no_faucet(
    solana_node: Any, chain: SolanaChain, grant_new: Any
) -> None:
    parties = await grant_new(per_tx_cap=USDC, cumulative_cap=2 * USDC, funded=3 * USDC)
    # The node seen as "any RPC URL": the production path for devnet, with this node's mint.
    settings = ChainSettings(mode="rpc", rpc_url=solana_node.url, usdc=chain.usdc_mint)
    async with open_solana(settings, solana_node.home) as remote:
        assert await remote.usdc_balance(parties.owner) == USDC
        assert await remote.read_authority(parties.owner, parties.agent) == (
            await chain.read_authority(parties.owner, parties.agent)
        )
        with pytest.raises(ChainError) as refused:
            await remote.fund(parties.owner, USDC)
    assert refused.value.code == "not_embedded"


@pytest.mark.req("SOL-NODE-PERSIST", "SOL-NODE-LIFETIME", "SOL-MODES")
async def test_a_restart_keeps_balances_and_authorities(
    solana_node: Any, chain: SolanaChain, grant_new: Any
) -> None:
    parties = await grant_new(per_tx_cap=2 * USDC, cumulative_cap=5 * USDC)
    await chain.pay(
        parties.payee_secret, parties.owner, parties.agent, USDC, secrets.token_bytes(32)
    )
    before = await chain.read_authority(parties.owner, parties.agent)
    balance, time_before, mint = (
        await chain.usdc_balance(parties.owner),
        await chain.chain_time(),
        chain.usdc_mint,
    )

    assert await trio.to_thread.run_sync(solana_node.stop)  # a clean stop on SIGTERM
    # Started again the way the gateway does it: from the settings, in the same home.
    async with open_solana(ChainSettings(), solana_node.home) as restarted:
        assert restarted.usdc_mint == mint
        assert await restarted.usdc_balance(parties.owner) == balance
        assert await restarted.read_authority(parties.owner, parties.agent) == before
        assert await restarted.chain_time() >= time_before
        reference = secrets.token_bytes(32)
        await restarted.pay(parties.payee_secret, parties.owner, parties.agent, USDC, reference)
        after = await restarted.read_authority(parties.owner, parties.agent)
        assert after is not None and after.paid == 2 * USDC
        assert await restarted.find_payment(parties.owner, parties.agent, reference) is not None

        # A node that exits (idle) under a connected backend is started again on the next call.
        assert await trio.to_thread.run_sync(solana_node.stop)
        assert await restarted.read_authority(parties.owner, parties.agent) == after
