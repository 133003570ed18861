"""grant, revoke and close against the program in LiteSVM."""

from __future__ import annotations

import pytest
from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction_metadata import TransactionMetadata

from gateway.chains.solana.program import (
    GRANT_LEN,
    SYSTEM_PROGRAM_ID,
    ProgramError,
    close_ix,
    grant_address,
    grant_ix,
    receipt_address,
    revoke_ix,
)

from .conftest import CUMULATIVE_CAP, DAY, NOW, PER_TX_CAP, Chain, refused


def _grant_pda(chain: Chain, agent: Keypair | None = None) -> Pubkey:
    who = (agent or chain.agent).pubkey()
    return grant_address(chain.program_id, chain.owner.pubkey(), who)[0]


def _revoke(chain: Chain, agent: Keypair | None = None) -> Instruction:
    who = (agent or chain.agent).pubkey()
    return revoke_ix(chain.program_id, owner=chain.owner.pubkey(), agent=who, source=chain.source)


@pytest.mark.req("SOL-PROG-1")
def test_grant_stores_the_caps_and_approves_the_pda_for_the_cumulative_cap(chain: Chain) -> None:
    assert isinstance(chain.grant(), TransactionMetadata)

    grant = chain.grant_account()
    assert (grant.owner, grant.agent, grant.payee) == (
        chain.owner.pubkey(),
        chain.agent.pubkey(),
        chain.payee.pubkey(),
    )
    assert (grant.mint, grant.source) == (chain.mint, chain.source)
    assert (grant.per_tx_cap, grant.cumulative_cap, grant.paid) == (PER_TX_CAP, CUMULATIVE_CAP, 0)
    assert (grant.expires_at, grant.revoked, grant.payments) == (NOW + DAY, False, 0)
    assert grant.bump == grant_address(chain.program_id, grant.owner, grant.agent)[1]
    assert chain.delegated(chain.source) == (_grant_pda(chain), CUMULATIVE_CAP)
    account = chain.svm.get_account(_grant_pda(chain))
    assert account is not None and len(account.data) == GRANT_LEN
    assert account.lamports == chain.svm.minimum_balance_for_rent_exemption(GRANT_LEN)


@pytest.mark.req("SOL-PROG-1")
def test_grant_refuses_bad_caps_and_past_expiry(chain: Chain) -> None:
    assert refused(chain.grant(per_tx_cap=0), ProgramError.INVALID_CAPS)
    assert refused(chain.grant(per_tx_cap=CUMULATIVE_CAP + 1), ProgramError.INVALID_CAPS)
    assert refused(chain.grant(expires_at=NOW), ProgramError.EXPIRY_IN_PAST)
    assert chain.svm.get_account(_grant_pda(chain)) is None


@pytest.mark.req("SOL-PROG-1")
def test_nobody_but_the_source_owner_can_grant_on_it(chain: Chain) -> None:
    # An agent granting itself a cap on the owner's account, signing as "owner".
    thief = chain.agent
    ix = grant_ix(
        chain.program_id,
        owner=thief.pubkey(),
        agent=thief.pubkey(),
        payee=thief.pubkey(),
        mint=chain.mint,
        source=chain.source,
        per_tx_cap=1,
        cumulative_cap=10**12,
        expires_at=NOW + DAY,
    )
    assert refused(chain.send([ix], thief), ProgramError.OWNER_MISMATCH)
    assert chain.delegated(chain.source) == (None, 0)


@pytest.mark.req("SOL-PROG-1")
def test_grant_refuses_an_address_that_is_not_the_pda(chain: Chain) -> None:
    ix = grant_ix(
        chain.program_id,
        owner=chain.owner.pubkey(),
        agent=chain.agent.pubkey(),
        payee=chain.payee.pubkey(),
        mint=chain.mint,
        source=chain.source,
        per_tx_cap=1,
        cumulative_cap=1,
        expires_at=NOW + DAY,
    )
    accounts = list(ix.accounts)
    accounts[1] = AccountMeta(_grant_pda(chain, Keypair()), False, True)
    wrong = Instruction(ix.program_id, ix.data, accounts)
    assert refused(chain.send([wrong], chain.owner), ProgramError.INVALID_GRANT_ADDRESS)


@pytest.mark.req("SOL-PROG-1")
@pytest.mark.req("SOL-PROG-2")
def test_lamports_sent_ahead_to_the_pdas_cannot_block_grant_or_pay(chain: Chain) -> None:
    griefer = chain.new_account()
    grant = _grant_pda(chain)
    reference = chain.reference()
    receipt, _ = receipt_address(chain.program_id, grant, reference)
    # The least a new account may hold is the rent-exempt minimum of an empty one.
    lamports = chain.svm.minimum_balance_for_rent_exemption(0)
    for target in (grant, receipt):
        chain.ok(
            [
                transfer(
                    TransferParams(
                        from_pubkey=griefer.pubkey(),
                        to_pubkey=target,
                        lamports=lamports,
                    )
                )
            ],
            griefer,
        )

    assert isinstance(chain.grant(), TransactionMetadata)
    chain.ok([chain.pay_instruction(PER_TX_CAP, reference)], chain.payee)
    assert chain.grant_account().paid == PER_TX_CAP
    account = chain.svm.get_account(receipt)
    assert account is not None and account.owner == chain.program_id
    assert account.lamports == chain.svm.minimum_balance_for_rent_exemption(24)


@pytest.mark.req("SOL-PROG-3")
def test_only_the_owner_revokes(granted: Chain) -> None:
    for intruder in (granted.agent, granted.payee):
        ix = revoke_ix(
            granted.program_id,
            owner=intruder.pubkey(),
            agent=granted.agent.pubkey(),
            source=granted.source,
        )
        accounts = list(ix.accounts)
        accounts[1] = AccountMeta(_grant_pda(granted), False, True)
        forged = Instruction(ix.program_id, ix.data, accounts)
        assert refused(granted.send([forged], intruder), ProgramError.OWNER_MISMATCH)
    assert not granted.grant_account().revoked
    granted.ok([granted.pay_instruction(1)], granted.payee)


@pytest.mark.req("SOL-PROG-1")
@pytest.mark.req("SOL-PROG-3")
def test_revoke_keeps_a_later_grants_delegation_on_the_same_source(granted: Chain) -> None:
    second = Keypair()
    granted.ok(
        [
            grant_ix(
                granted.program_id,
                owner=granted.owner.pubkey(),
                agent=second.pubkey(),
                payee=granted.payee.pubkey(),
                mint=granted.mint,
                source=granted.source,
                per_tx_cap=PER_TX_CAP,
                cumulative_cap=CUMULATIVE_CAP,
                expires_at=NOW + DAY,
            )
        ],
        granted.owner,
    )
    # A token account has one delegate: the second grant's approval replaced the first's.
    assert refused(granted.pay(1), ProgramError.ALLOWANCE_TOO_LOW)

    granted.ok([_revoke(granted)], granted.owner)

    assert granted.delegated(granted.source) == (_grant_pda(granted, second), CUMULATIVE_CAP)
    assert granted.grant_account().revoked


@pytest.mark.req("SOL-PROG-4")
def test_close_needs_revoke_then_returns_the_rent(granted: Chain) -> None:
    grant = _grant_pda(granted)
    close = close_ix(granted.program_id, owner=granted.owner.pubkey(), agent=granted.agent.pubkey())
    assert refused(granted.send([close], granted.owner), ProgramError.NOT_REVOKED)

    rent = granted.svm.get_balance(grant)
    before = granted.svm.get_balance(granted.owner.pubkey())
    assert rent is not None and before is not None
    granted.ok([_revoke(granted), close], granted.owner)

    assert granted.svm.get_account(grant) is None
    assert granted.svm.get_balance(granted.owner.pubkey()) == before + rent - 5_000  # fee
    # The owner can grant the agent afresh.
    assert isinstance(granted.grant(cumulative_cap=PER_TX_CAP), TransactionMetadata)
    assert granted.grant_account().cumulative_cap == PER_TX_CAP


@pytest.mark.req("SOL-PROG-4")
def test_closing_is_owner_only_and_a_closed_grant_cannot_pay(granted: Chain) -> None:
    granted.ok([_revoke(granted)], granted.owner)
    ix = close_ix(granted.program_id, owner=granted.payee.pubkey(), agent=granted.agent.pubkey())
    accounts = list(ix.accounts)
    accounts[1] = AccountMeta(_grant_pda(granted), False, True)
    forged = Instruction(ix.program_id, ix.data, accounts)
    assert refused(granted.send([forged], granted.payee), ProgramError.OWNER_MISMATCH)

    close = close_ix(granted.program_id, owner=granted.owner.pubkey(), agent=granted.agent.pubkey())
    result = granted.send([close, granted.pay_instruction(1)], granted.owner, granted.payee)
    assert refused(result, ProgramError.INVALID_GRANT)


@pytest.mark.req("SOL-PROG-1")
@pytest.mark.req("SOL-PROG-3")
def test_a_foreign_account_posing_as_a_grant_is_refused(chain: Chain) -> None:
    pda = _grant_pda(chain)
    fake = bytes([1]) + bytes(GRANT_LEN - 1)
    chain.svm.set_account(pda, Account(10**9, fake, SYSTEM_PROGRAM_ID, False))
    assert refused(chain.grant(), ProgramError.GRANT_EXISTS)
    assert refused(chain.send([_revoke(chain)], chain.owner), ProgramError.INVALID_GRANT)


@pytest.mark.req("SOL-PROG-4")
def test_revoke_close_and_grant_in_one_transaction_replace_a_grant(granted: Chain) -> None:
    granted.ok([granted.pay_instruction(PER_TX_CAP)], granted.payee)
    close = close_ix(granted.program_id, owner=granted.owner.pubkey(), agent=granted.agent.pubkey())
    regrant = grant_ix(
        granted.program_id,
        owner=granted.owner.pubkey(),
        agent=granted.agent.pubkey(),
        payee=granted.payee.pubkey(),
        mint=granted.mint,
        source=granted.source,
        per_tx_cap=1,
        cumulative_cap=3,
        expires_at=NOW + 2 * DAY,
    )
    granted.ok([_revoke(granted), close, regrant], granted.owner)

    grant = granted.grant_account()
    assert (grant.per_tx_cap, grant.cumulative_cap, grant.paid, grant.revoked) == (1, 3, 0, False)
    assert granted.delegated(granted.source) == (_grant_pda(granted), 3)
    assert refused(granted.pay(2), ProgramError.OVER_PER_TX_CAP)
