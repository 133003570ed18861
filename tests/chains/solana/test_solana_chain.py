"""SolanaChain against the embedded node: real HTTP, solana-py's AsyncClient, LiteSVM behind it,
and the spending-caps program deployed into the node.

The on-chain refusals are proven by sending transactions straight to the chain, past every
check the backend makes: what is refused there is refused by the program (or SPL Token) itself,
with the program's error code, both in preflight and in a landed transaction.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest
import trio
from solana.rpc.async_api import AsyncClient
from solana.rpc.core import RPCException
from solana.rpc.models import TxOpts
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.rpc.errors import SendTransactionPreflightFailureMessage
from solders.signature import Signature
from solders.transaction import VersionedTransaction
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import (
    create_idempotent_associated_token_account,
    get_associated_token_address,
    transfer_checked,
)
from spl.token.models import TransferCheckedParams

from gateway.chains.solana import SolanaChain, open_solana
from gateway.chains.solana.program import ProgramError, grant_address, pay_ix
from gateway.errors import ChainError, ConfigError
from gateway.settings import ChainSettings

USDC = 1_000_000
OWNER_MISMATCH = 4


async def _send(
    rpc: AsyncClient, signer: Keypair, instructions: list[Instruction], *, preflight: bool
) -> Signature:
    blockhash = (await rpc.get_latest_blockhash()).value.blockhash
    message = MessageV0.try_compile(signer.pubkey(), instructions, [], blockhash)
    tx = VersionedTransaction(message, [signer])
    opts = TxOpts(skip_preflight=not preflight)
    return (await rpc.send_raw_transaction(bytes(tx), opts)).value


async def _refusal_code(rpc: AsyncClient, signer: Keypair, instructions: list[Instruction]) -> int:
    """Send directly; the custom error code, proven twice: in the preflight simulation (a real
    JSON-RPC error with logs) and in the landed, failed transaction."""
    await rpc.request_airdrop(signer.pubkey(), 10**9)
    with pytest.raises(RPCException) as refused:
        await _send(rpc, signer, instructions, preflight=True)
    error = refused.value.args[0]
    assert isinstance(error, SendTransactionPreflightFailureMessage)
    assert any("custom program error" in line for line in error.data.logs or [])
    preflight_code = error.data.err.err.code

    landed = await _send(rpc, signer, instructions, preflight=False)
    status = (await rpc.get_signature_statuses([landed])).value[0]
    assert status is not None and status.err is not None
    assert status.err.err.code == preflight_code
    return int(preflight_code)


def _direct_pay(
    chain: SolanaChain, parties: Any, amount: int, *, signer: Keypair | None = None
) -> tuple[Keypair, list[Instruction]]:
    """A pay instruction built by hand, signed by ``signer`` (default: the grant's payee)."""
    payer = signer or parties.payee_key
    mint = Pubkey.from_string(chain.usdc_mint)
    program = Pubkey.from_string(str(chain.caps_program))
    destination = get_associated_token_address(payer.pubkey(), mint)
    create = create_idempotent_associated_token_account(payer.pubkey(), payer.pubkey(), mint)
    pay = pay_ix(
        program,
        payee=payer.pubkey(),
        owner=Pubkey.from_string(parties.owner),
        agent=Pubkey.from_string(parties.agent),
        source=parties.agent_account,
        mint=mint,
        destination=destination,
        amount=amount,
        reference=secrets.token_bytes(32),
    )
    return payer, [create, pay]


async def _token_amount(rpc: AsyncClient, account: Pubkey) -> int:
    return int((await rpc.get_token_account_balance(account)).value.amount)


@pytest.mark.req("SOL-WALLET", "SOL-GRANT", "SOL-READ", "SOL-PAY", "SOL-FIND")
async def test_wallet_fund_grant_pay_and_find(
    chain: SolanaChain, rpc: AsyncClient, new_parties: Any
) -> None:
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
    assert await chain.usdc_balance(parties.owner) == 15 * USDC  # the cap moved to the source
    authority = await chain.read_authority(parties.owner, parties.agent)
    assert authority is not None
    assert (authority.payee, authority.per_tx_cap, authority.cumulative_cap) == (
        parties.payee,
        2 * USDC,
        5 * USDC,
    )
    assert (authority.expires_at, authority.paid, authority.revoked) == (expires_at, 0, False)
    assert authority.spendable == 5 * USDC
    # The second on-chain limit: the grant's PDA is the source's SPL delegate for the cap.
    parsed = (await rpc.get_account_info_json_parsed(parties.agent_account)).value
    assert parsed is not None
    info = parsed.data.parsed["info"]  # type: ignore[union-attr]
    grant_pda, _ = grant_address(
        Pubkey.from_string(str(chain.caps_program)),
        Pubkey.from_string(parties.owner),
        Pubkey.from_string(parties.agent),
    )
    assert info["delegate"] == str(grant_pda)
    assert info["delegatedAmount"]["amount"] == str(5 * USDC)

    reference = secrets.token_bytes(32)
    paid = await chain.pay(parties.payee_secret, parties.owner, parties.agent, 1_500_000, reference)
    after = await chain.read_authority(parties.owner, parties.agent)
    assert after is not None
    assert (after.paid, after.remaining, after.spendable) == (1_500_000, 3_500_000, 3_500_000)
    payee_account = get_associated_token_address(
        parties.payee_key.pubkey(), Pubkey.from_string(chain.usdc_mint)
    )
    assert await _token_amount(rpc, payee_account) == 1_500_000

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
    assert "spending-caps program error 125" in refused.value.message


@pytest.mark.req("SOL-PERTX", "SOL-EXPIRY", "SOL-ERRORS")
async def test_the_program_refuses_over_the_per_tx_cap_and_after_expiry(
    chain: SolanaChain, rpc: AsyncClient, grant_new: Any
) -> None:
    parties = await grant_new(per_tx_cap=USDC, cumulative_cap=5 * USDC, expires_in=600)
    payee, over = _direct_pay(chain, parties, USDC + 1)
    assert await _refusal_code(rpc, payee, over) == ProgramError.OVER_PER_TX_CAP
    with pytest.raises(ChainError) as refused:
        await chain.pay(
            parties.payee_secret, parties.owner, parties.agent, USDC + 1, secrets.token_bytes(32)
        )
    assert refused.value.code == "per_tx_cap_exceeded"
    assert refused.value.message.startswith(
        "the chain refused the payment: the amount is above the per-transaction cap "
        "(spending-caps program error 120, instruction "
    )
    await chain.pay(
        parties.payee_secret, parties.owner, parties.agent, USDC, secrets.token_bytes(32)
    )

    await chain.advance_clock(601)
    payee, late = _direct_pay(chain, parties, 1)
    assert await _refusal_code(rpc, payee, late) == ProgramError.EXPIRED
    with pytest.raises(ChainError) as expired:
        await chain.pay(
            parties.payee_secret, parties.owner, parties.agent, 1, secrets.token_bytes(32)
        )
    assert expired.value.code == "expired"
    authority = await chain.read_authority(parties.owner, parties.agent)
    assert authority is not None and (authority.paid, authority.spendable) == (USDC, 0)


@pytest.mark.req("SOL-CUMULATIVE")
async def test_payments_add_up_to_the_cumulative_cap_and_no_further(
    chain: SolanaChain, rpc: AsyncClient, grant_new: Any
) -> None:
    parties = await grant_new(per_tx_cap=3 * USDC, cumulative_cap=3 * USDC, funded=10 * USDC)
    await chain.pay(
        parties.payee_secret, parties.owner, parties.agent, 2 * USDC, secrets.token_bytes(32)
    )
    payee, over = _direct_pay(chain, parties, USDC + 1)
    assert await _refusal_code(rpc, payee, over) == ProgramError.OVER_CUMULATIVE_CAP
    await chain.pay(parties.payee_secret, parties.owner, parties.agent, USDC, b"\x01" * 32)
    authority = await chain.read_authority(parties.owner, parties.agent)
    assert authority is not None
    assert (authority.paid, authority.remaining, authority.spendable) == (3 * USDC, 0, 0)
    with pytest.raises(ChainError) as refused:
        await chain.pay(parties.payee_secret, parties.owner, parties.agent, 1, b"\x02" * 32)
    assert refused.value.code == "cumulative_cap_exceeded"


@pytest.mark.req("SOL-REVOKE")
async def test_the_program_and_spl_token_refuse_after_revoke(
    chain: SolanaChain, rpc: AsyncClient, grant_new: Any
) -> None:
    parties = await grant_new(per_tx_cap=2 * USDC, cumulative_cap=5 * USDC, funded=10 * USDC)
    await chain.pay(
        parties.payee_secret, parties.owner, parties.agent, USDC, secrets.token_bytes(32)
    )
    await chain.revoke(parties.owner_secret, parties.agent)
    await chain.revoke(parties.owner_secret, parties.agent)  # a retried revoke is harmless

    authority = await chain.read_authority(parties.owner, parties.agent)
    assert authority is not None
    assert (authority.revoked, authority.paid, authority.spendable) == (True, USDC, 0)
    assert await chain.usdc_balance(parties.owner) == 9 * USDC  # the rest came back

    # Put USDC back into the source, so that only the revocation can refuse.
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
    payee, late = _direct_pay(chain, parties, 1)
    assert await _refusal_code(rpc, payee, late) == ProgramError.REVOKED
    with pytest.raises(ChainError) as refused:
        await chain.pay(
            parties.payee_secret, parties.owner, parties.agent, 1, secrets.token_bytes(32)
        )
    assert refused.value.code == "revoked"
    # The SPL approval is gone too: the payee holds no delegation to pull with directly.
    direct = TransferCheckedParams(
        program_id=TOKEN_PROGRAM_ID,
        source=parties.agent_account,
        mint=mint,
        dest=get_associated_token_address(payee.pubkey(), mint),
        owner=payee.pubkey(),
        amount=1,
        decimals=6,
    )
    assert await _refusal_code(rpc, payee, [transfer_checked(direct)]) == OWNER_MISMATCH


@pytest.mark.req("SOL-PAYEE")
async def test_only_the_payee_can_pull(
    chain: SolanaChain, rpc: AsyncClient, grant_new: Any
) -> None:
    parties = await grant_new(per_tx_cap=2 * USDC, cumulative_cap=5 * USDC)
    stranger = Keypair()
    signer, pay = _direct_pay(chain, parties, 1, signer=stranger)
    assert await _refusal_code(rpc, signer, pay) == ProgramError.PAYEE_MISMATCH
    agent_signer, agent_pay = _direct_pay(chain, parties, 1, signer=parties.agent_key)
    assert await _refusal_code(rpc, agent_signer, agent_pay) == ProgramError.PAYEE_MISMATCH
    assert await _token_amount(rpc, parties.agent_account) == 5 * USDC
    with pytest.raises(ChainError) as refused:
        await chain.pay(
            bytes(stranger.secret()), parties.owner, parties.agent, 1, secrets.token_bytes(32)
        )
    assert refused.value.code == "not_payee"


@pytest.mark.req("SOL-GRANT", "SOL-REF")
async def test_a_new_grant_replaces_the_old_and_keeps_its_references_used(
    chain: SolanaChain, grant_new: Any
) -> None:
    parties = await grant_new(per_tx_cap=2 * USDC, cumulative_cap=5 * USDC, funded=20 * USDC)
    used = secrets.token_bytes(32)
    await chain.pay(parties.payee_secret, parties.owner, parties.agent, 2 * USDC, used)
    expires_at = await chain.chain_time() + 7200
    await chain.grant(
        parties.owner_secret, parties.agent, parties.payee, USDC, 2 * USDC, expires_at
    )
    authority = await chain.read_authority(parties.owner, parties.agent)
    assert authority is not None
    assert (authority.per_tx_cap, authority.cumulative_cap, authority.paid) == (USDC, 2 * USDC, 0)
    assert authority.spendable == 2 * USDC
    # 20 funded, 5 moved to the source, 2 paid: the 1 above the new cap came back.
    assert await chain.usdc_balance(parties.owner) == 16 * USDC
    with pytest.raises(ChainError) as refused:
        await chain.pay(parties.payee_secret, parties.owner, parties.agent, USDC, used)
    assert refused.value.code == "reference_used"

    # A second agent of the same owner has its own source, so both grants stay usable.
    other = Keypair()
    await chain.grant(
        parties.owner_secret, str(other.pubkey()), parties.payee, USDC, 2 * USDC, expires_at
    )
    await chain.pay(parties.payee_secret, parties.owner, parties.agent, USDC, b"\x03" * 32)
    await chain.pay(parties.payee_secret, parties.owner, str(other.pubkey()), USDC, b"\x03" * 32)
    first = await chain.read_authority(parties.owner, parties.agent)
    second = await chain.read_authority(parties.owner, str(other.pubkey()))
    assert first is not None and second is not None
    assert (first.paid, second.paid) == (USDC, USDC)


@pytest.mark.req("SOL-WALLET", "SOL-MODES")
async def test_rpc_mode_reads_the_chain_but_has_no_faucet(
    solana_node: Any, chain: SolanaChain, grant_new: Any
) -> None:
    parties = await grant_new(per_tx_cap=USDC, cumulative_cap=2 * USDC, funded=3 * USDC)
    # The node seen as "any RPC URL": the production path for devnet, with this node's mint.
    settings = ChainSettings(
        mode="rpc",
        rpc_url=solana_node.url,
        usdc=chain.usdc_mint,
        authority_program=chain.caps_program,
    )
    async with open_solana(settings, solana_node.home) as remote:
        assert await remote.usdc_balance(parties.owner) == USDC
        assert await remote.read_authority(parties.owner, parties.agent) == (
            await chain.read_authority(parties.owner, parties.agent)
        )
        with pytest.raises(ChainError) as refused:
            await remote.fund(parties.owner, USDC)
    assert refused.value.code == "not_embedded"

    bare = ChainSettings(mode="rpc", rpc_url=solana_node.url, usdc=chain.usdc_mint)
    async with open_solana(bare, solana_node.home) as remote:
        assert await remote.usdc_balance(parties.owner) == USDC
        with pytest.raises(ConfigError, match="authority_program"):
            await remote.read_authority(parties.owner, parties.agent)
    wrong = ChainSettings(
        mode="rpc", rpc_url=solana_node.url, usdc=chain.usdc_mint, authority_program=parties.owner
    )
    with pytest.raises(ConfigError, match=r"no program at chains\.solana\.authority_program"):
        async with open_solana(wrong, solana_node.home):
            pass


@pytest.mark.req("SOL-NODE-PERSIST", "SOL-NODE-LIFETIME", "SOL-MODES")
async def test_a_restart_keeps_balances_and_authorities(
    solana_node: Any, chain: SolanaChain, grant_new: Any
) -> None:
    parties = await grant_new(per_tx_cap=2 * USDC, cumulative_cap=5 * USDC)
    await chain.pay(
        parties.payee_secret, parties.owner, parties.agent, USDC, secrets.token_bytes(32)
    )
    before = await chain.read_authority(parties.owner, parties.agent)
    balance, time_before, mint, program = (
        await chain.usdc_balance(parties.owner),
        await chain.chain_time(),
        chain.usdc_mint,
        chain.caps_program,
    )

    assert await trio.to_thread.run_sync(solana_node.stop)  # a clean stop on SIGTERM
    # Started again the way the gateway does it: from the settings, in the same home.
    async with open_solana(ChainSettings(), solana_node.home) as restarted:
        assert (restarted.usdc_mint, restarted.caps_program) == (mint, program)
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
