"""The issue's acceptance: every cap and check of ``pay``, against the program in LiteSVM."""

from __future__ import annotations

import hashlib

import pytest
from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.transaction_metadata import TransactionMetadata
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import approve_checked, revoke, transfer_checked
from spl.token.models import ApproveCheckedParams, RevokeParams, TransferCheckedParams

from gateway.chains.solana.program import (
    ProgramError,
    ReceiptAccount,
    grant_address,
    grant_ix,
    receipt_address,
    revoke_ix,
)

from .conftest import (
    CUMULATIVE_CAP,
    DAY,
    DECIMALS,
    FUNDED,
    NOW,
    PER_TX_CAP,
    Chain,
    custom_error,
    make_chain,
    refused,
)


def _with_account(ix: Instruction, index: int, key: Pubkey) -> Instruction:
    """The same instruction with one account replaced (same signer/writable flags)."""
    accounts = list(ix.accounts)
    old = accounts[index]
    accounts[index] = AccountMeta(key, old.is_signer, old.is_writable)
    return Instruction(ix.program_id, ix.data, accounts)


def _moved_exactly(chain: Chain, paid: int = 0) -> bool:
    """Source, destination and grant all show that exactly ``paid`` was paid."""
    return (
        chain.balance(chain.source) == FUNDED - paid
        and chain.balance(chain.destination) == paid
        and chain.grant_account().paid == paid
    )


@pytest.mark.req("SOL-PROG-2")
def test_pay_at_the_per_tx_cap_succeeds_and_records_the_receipt(granted: Chain) -> None:
    reference = granted.reference()
    result = granted.pay(PER_TX_CAP, reference)

    assert isinstance(result, TransactionMetadata), result
    assert _moved_exactly(granted, paid=PER_TX_CAP)
    assert granted.grant_account().payments == 1
    grant, _ = grant_address(granted.program_id, granted.owner.pubkey(), granted.agent.pubkey())
    receipt = granted.svm.get_account(receipt_address(granted.program_id, grant, reference)[0])
    assert receipt is not None and receipt.owner == granted.program_id
    assert ReceiptAccount.parse(bytes(receipt.data)).amount == PER_TX_CAP
    assert ReceiptAccount.parse(bytes(receipt.data)).paid_at == NOW
    # The SPL allowance shrinks with the grant's remaining cap.
    assert granted.delegated(granted.source) == (grant, CUMULATIVE_CAP - PER_TX_CAP)


@pytest.mark.req("SOL-PROG-2")
def test_pay_over_the_per_tx_cap_fails(granted: Chain) -> None:
    assert refused(granted.pay(PER_TX_CAP + 1), ProgramError.OVER_PER_TX_CAP)
    assert _moved_exactly(granted)


@pytest.mark.req("SOL-PROG-2")
def test_cumulative_cap_reached_exactly_then_one_unit_more_fails(granted: Chain) -> None:
    for amount in (PER_TX_CAP, PER_TX_CAP, CUMULATIVE_CAP - 2 * PER_TX_CAP):
        granted.ok([granted.pay_instruction(amount)], granted.payee)
    assert granted.grant_account().paid == CUMULATIVE_CAP

    assert refused(granted.pay(1), ProgramError.OVER_CUMULATIVE_CAP)
    assert _moved_exactly(granted, paid=CUMULATIVE_CAP)


@pytest.mark.req("SOL-PROG-2")
def test_pay_fails_once_the_clock_reaches_the_expiry(granted: Chain) -> None:
    granted.set_time(NOW + DAY - 1)
    granted.ok([granted.pay_instruction(1)], granted.payee)

    granted.set_time(NOW + DAY)
    assert refused(granted.pay(1), ProgramError.EXPIRED)
    granted.set_time(NOW + 30 * DAY)
    assert refused(granted.pay(1), ProgramError.EXPIRED)
    assert _moved_exactly(granted, paid=1)


@pytest.mark.req("SOL-PROG-2")
@pytest.mark.req("SOL-PROG-3")
def test_pay_fails_after_revoke(granted: Chain) -> None:
    granted.ok(
        [
            revoke_ix(
                granted.program_id,
                owner=granted.owner.pubkey(),
                agent=granted.agent.pubkey(),
                source=granted.source,
            )
        ],
        granted.owner,
    )

    assert refused(granted.pay(1), ProgramError.REVOKED)
    assert _moved_exactly(granted)
    assert granted.delegated(granted.source) == (None, 0)


@pytest.mark.req("SOL-PROG-2")
def test_pay_signed_by_anyone_but_the_payee_fails(granted: Chain) -> None:
    for signer in (granted.agent, granted.owner, granted.new_account()):
        ix = _with_account(granted.pay_instruction(1), 0, signer.pubkey())
        assert refused(granted.send([ix], signer), ProgramError.PAYEE_MISMATCH)

    # The payee named but not signing (someone else pays the fee).
    ix = granted.pay_instruction(1)
    accounts = list(ix.accounts)
    accounts[0] = AccountMeta(granted.payee.pubkey(), is_signer=False, is_writable=True)
    unsigned = Instruction(ix.program_id, ix.data, accounts)
    assert refused(granted.send([unsigned], granted.new_account()), ProgramError.MISSING_SIGNATURE)
    assert _moved_exactly(granted)


@pytest.mark.req("SOL-PROG-2")
def test_substituted_source_fails_even_when_it_approved_the_grant(granted: Chain) -> None:
    # Another holder's account that (carelessly) approved the same grant PDA as delegate.
    victim = granted.new_account()
    other = granted.token_account(victim.pubkey(), 10 * PER_TX_CAP)
    grant, _ = grant_address(granted.program_id, granted.owner.pubkey(), granted.agent.pubkey())
    granted.ok(
        [
            approve_checked(
                ApproveCheckedParams(
                    program_id=TOKEN_PROGRAM_ID,
                    source=other,
                    mint=granted.mint,
                    delegate=grant,
                    owner=victim.pubkey(),
                    amount=10 * PER_TX_CAP,
                    decimals=DECIMALS,
                )
            )
        ],
        victim,
    )

    ix = _with_account(granted.pay_instruction(1), 2, other)
    assert refused(granted.send([ix], granted.payee), ProgramError.SOURCE_MISMATCH)
    assert granted.balance(other) == 10 * PER_TX_CAP
    assert _moved_exactly(granted)


@pytest.mark.req("SOL-PROG-2")
def test_substituted_mint_fails(granted: Chain) -> None:
    other = make_chain(granted.svm, granted.program_id).mint
    ix = _with_account(granted.pay_instruction(1), 3, other)
    assert refused(granted.send([ix], granted.payee), ProgramError.MINT_MISMATCH)
    assert _moved_exactly(granted)


@pytest.mark.req("SOL-PROG-2")
def test_substituted_destination_fails(granted: Chain) -> None:
    # An account of the same mint owned by someone else (say, the agent) ...
    agents = granted.token_account(granted.agent.pubkey())
    ix = _with_account(granted.pay_instruction(1), 4, agents)
    assert refused(granted.send([ix], granted.payee), ProgramError.DESTINATION_MISMATCH)
    # ... and the payee's own account of another mint.
    elsewhere = make_chain(granted.svm, granted.program_id)
    payees_other = elsewhere.token_account(granted.payee.pubkey())
    ix = _with_account(granted.pay_instruction(1), 4, payees_other)
    assert refused(granted.send([ix], granted.payee), ProgramError.DESTINATION_MISMATCH)
    assert granted.balance(agents) == 0
    assert _moved_exactly(granted)


@pytest.mark.req("SOL-PROG-2")
def test_substituted_grant_account_fails(granted: Chain) -> None:
    grant, _ = grant_address(granted.program_id, granted.owner.pubkey(), granted.agent.pubkey())
    real = granted.svm.get_account(grant)
    assert real is not None

    # A copy of the grant's bytes at another program-owned address: not the PDA.
    forged = Pubkey.new_unique()
    granted.svm.set_account(forged, real)
    ix = _with_account(granted.pay_instruction(1), 1, forged)
    assert refused(granted.send([ix], granted.payee), ProgramError.INVALID_GRANT_ADDRESS)

    # The same bytes in an account this program does not own.
    foreign = Pubkey.new_unique()
    granted.svm.set_account(foreign, Account(real.lamports, real.data, Keypair().pubkey(), False))
    ix = _with_account(granted.pay_instruction(1), 1, foreign)
    assert refused(granted.send([ix], granted.payee), ProgramError.INVALID_GRANT)

    # A genuine grant of another owner to the same payee cannot pay from this owner's source.
    stranger = make_chain(granted.svm, granted.program_id)
    stranger.payee = granted.payee
    assert isinstance(stranger.grant(mint=stranger.mint), TransactionMetadata)
    other_grant, _ = grant_address(
        granted.program_id, stranger.owner.pubkey(), stranger.agent.pubkey()
    )
    ix = _with_account(granted.pay_instruction(1), 1, other_grant)
    assert refused(granted.send([ix], granted.payee), ProgramError.SOURCE_MISMATCH)
    assert _moved_exactly(granted)


@pytest.mark.req("SOL-PROG-2")
def test_substituted_receipt_or_programs_fail(granted: Chain) -> None:
    ix = _with_account(granted.pay_instruction(1), 5, Pubkey.new_unique())
    assert refused(granted.send([ix], granted.payee), ProgramError.INVALID_RECEIPT_ADDRESS)
    ix = _with_account(granted.pay_instruction(1), 6, granted.program_id)
    assert refused(granted.send([ix], granted.payee), ProgramError.WRONG_PROGRAM)
    assert _moved_exactly(granted)


@pytest.mark.req("SOL-PROG-2")
def test_a_reference_pays_once(granted: Chain) -> None:
    reference = granted.reference()
    granted.ok([granted.pay_instruction(1, reference)], granted.payee)

    assert refused(granted.pay(1, reference), ProgramError.REFERENCE_USED)
    assert refused(granted.pay(PER_TX_CAP, reference), ProgramError.REFERENCE_USED)
    assert _moved_exactly(granted, paid=1)
    assert granted.grant_account().payments == 1


@pytest.mark.req("SOL-PROG-2")
def test_agent_or_payee_cannot_move_the_tokens_with_spl_directly(granted: Chain) -> None:
    for thief in (granted.agent, granted.payee):
        direct = transfer_checked(
            TransferCheckedParams(
                program_id=TOKEN_PROGRAM_ID,
                source=granted.source,
                mint=granted.mint,
                dest=granted.destination,
                owner=thief.pubkey(),
                amount=1,
                decimals=DECIMALS,
            )
        )
        result = granted.send([direct], thief)
        # SPL Token's own refusal: 4 = OwnerMismatch (neither is owner nor delegate).
        assert custom_error(result) == 4
    assert _moved_exactly(granted)


@pytest.mark.req("SOL-PROG-1")
def test_granting_again_over_a_live_grant_fails(granted: Chain) -> None:
    # A second grant for the same (owner, agent) is refused: caps cannot be reset by the agent
    # or anyone else, and the owner must revoke and close first.
    again = grant_ix(
        granted.program_id,
        owner=granted.owner.pubkey(),
        agent=granted.agent.pubkey(),
        payee=granted.payee.pubkey(),
        mint=granted.mint,
        source=granted.source,
        per_tx_cap=PER_TX_CAP,
        cumulative_cap=CUMULATIVE_CAP,
        expires_at=NOW + DAY,
    )
    assert refused(granted.send([again], granted.owner), ProgramError.GRANT_EXISTS)


@pytest.mark.req("SOL-PROG-2")
def test_a_reference_cannot_be_paid_again_under_another_bump(granted: Chain) -> None:
    # Most references have several bumps that give a PDA; only the canonical (highest) one is
    # accepted, or each would make a separate receipt for the same reference.
    grant, _ = grant_address(granted.program_id, granted.owner.pubkey(), granted.agent.pubkey())
    reference, canonical, lower = _reference_with_a_second_pda(granted, grant)
    granted.ok([granted.pay_instruction(1, reference)], granted.payee)

    # A lower bump that gives a PDA, and a higher one whose hash is on the curve (not a PDA).
    assert _pda_hash(granted.program_id, grant, reference, canonical + 1).is_on_curve()
    for bump in (lower, canonical + 1):
        ix = granted.pay_instruction(1, reference)
        address = _pda_hash(granted.program_id, grant, reference, bump)
        replay = Instruction(ix.program_id, ix.data[:-1] + bytes([bump]), list(ix.accounts))
        replay = _with_account(replay, 5, address)
        result = granted.send([replay], granted.payee)
        assert refused(result, ProgramError.INVALID_RECEIPT_ADDRESS)
    assert _moved_exactly(granted, paid=1)


def _pda_hash(program_id: Pubkey, grant: Pubkey, reference: bytes, bump: int) -> Pubkey:
    seeds = b"receipt" + bytes(grant) + reference + bytes([bump])
    return Pubkey(hashlib.sha256(seeds + bytes(program_id) + b"ProgramDerivedAddress").digest())


def _reference_with_a_second_pda(chain: Chain, grant: Pubkey) -> tuple[bytes, int, int]:
    """A reference whose canonical bump is below 255 and that has a lower bump giving a PDA."""
    while True:
        reference = chain.reference()
        _, canonical = receipt_address(chain.program_id, grant, reference)
        lower = [
            bump
            for bump in range(canonical)
            if not _pda_hash(chain.program_id, grant, reference, bump).is_on_curve()
        ]
        if canonical < 255 and lower:
            return reference, canonical, lower[-1]


@pytest.mark.req("SOL-PROG-2")
def test_what_the_owner_or_spl_would_refuse_is_refused_with_the_programs_own_codes(
    granted: Chain,
) -> None:
    assert refused(granted.pay(0), ProgramError.ZERO_AMOUNT)
    # The owner moves most of the funds away: the balance, not the caps, is short.
    elsewhere = granted.token_account(granted.new_account().pubkey())
    granted.ok(
        [
            transfer_checked(
                TransferCheckedParams(
                    program_id=TOKEN_PROGRAM_ID,
                    source=granted.source,
                    mint=granted.mint,
                    dest=elsewhere,
                    owner=granted.owner.pubkey(),
                    amount=FUNDED - 1,
                    decimals=DECIMALS,
                )
            )
        ],
        granted.owner,
    )
    assert refused(granted.pay(2), ProgramError.INSUFFICIENT_FUNDS)
    # The owner drops the SPL approval behind the program's back.
    granted.ok(
        [
            revoke(
                RevokeParams(
                    program_id=TOKEN_PROGRAM_ID,
                    account=granted.source,
                    owner=granted.owner.pubkey(),
                )
            )
        ],
        granted.owner,
    )
    assert refused(granted.pay(1), ProgramError.ALLOWANCE_TOO_LOW)
    assert granted.grant_account().paid == 0


@pytest.mark.req("SOL-PROG-2")
def test_malformed_pay_instructions_are_refused(granted: Chain) -> None:
    ix = granted.pay_instruction(1)
    cases = [
        (
            Instruction(ix.program_id, ix.data[:-1], list(ix.accounts)),
            ProgramError.INVALID_INSTRUCTION,
        ),
        (
            Instruction(ix.program_id, bytes([9]) + ix.data[1:], list(ix.accounts)),
            ProgramError.INVALID_INSTRUCTION,
        ),
        (
            Instruction(ix.program_id, ix.data, list(ix.accounts)[:7]),
            ProgramError.NOT_ENOUGH_ACCOUNTS,
        ),
    ]
    readonly = list(ix.accounts)
    readonly[1] = AccountMeta(readonly[1].pubkey, False, False)
    cases.append((Instruction(ix.program_id, ix.data, readonly), ProgramError.NOT_WRITABLE))
    for bad, error in cases:
        assert refused(granted.send([bad], granted.payee), error), error
    assert _moved_exactly(granted)
