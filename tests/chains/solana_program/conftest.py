"""A LiteSVM chain with the spending-caps program, a 6-decimal mint, an owner, agent and payee."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest
from solders.clock import Clock
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account
from solders.transaction import Transaction
from solders.transaction_metadata import FailedTransactionMetadata, TransactionMetadata
from solders.transaction_status import InstructionErrorCustom, TransactionErrorInstructionError
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import (
    create_associated_token_account,
    get_associated_token_address,
    initialize_mint2,
    mint_to_checked,
)
from spl.token.models import InitializeMint2Params, MintToCheckedParams

from gateway.chains.solana.program import (
    GrantAccount,
    ProgramError,
    grant_address,
    grant_ix,
    pay_ix,
    program_binary,
)

NOW = 1_750_000_000
DAY = 86_400
DECIMALS = 6
PER_TX_CAP = 2_000_000
CUMULATIVE_CAP = 5_000_000
FUNDED = 100_000_000


@dataclass
class Chain:
    """LiteSVM plus the parties of one grant, with methods to send and inspect transactions."""

    svm: LiteSVM
    program_id: Pubkey
    mint: Pubkey
    mint_authority: Keypair
    owner: Keypair
    agent: Keypair
    payee: Keypair
    source: Pubkey
    destination: Pubkey
    _refs: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def send(
        self, instructions: Sequence[Instruction], *signers: Keypair
    ) -> TransactionMetadata | FailedTransactionMetadata:
        """Send one transaction (the first signer pays the fee); a fresh blockhash each time."""
        self.svm.expire_blockhash()
        message = Message(list(instructions), signers[0].pubkey())
        return self.svm.send_transaction(
            Transaction(list(signers), message, self.svm.latest_blockhash())
        )

    def ok(self, instructions: Sequence[Instruction], *signers: Keypair) -> TransactionMetadata:
        """Send and require success."""
        result = self.send(instructions, *signers)
        assert isinstance(result, TransactionMetadata), result
        return result

    def new_account(self, lamports: int = 10_000_000_000) -> Keypair:
        """A funded keypair."""
        keypair = Keypair()
        self.svm.airdrop(keypair.pubkey(), lamports)
        return keypair

    def token_account(self, owner: Pubkey, amount: int = 0) -> Pubkey:
        """The associated token account of ``owner`` for the mint, holding ``amount``."""
        address = get_associated_token_address(owner, self.mint)
        if self.svm.get_account(address) is None:
            self.ok(
                [create_associated_token_account(self.mint_authority.pubkey(), owner, self.mint)],
                self.mint_authority,
            )
        if amount:
            self.mint_to(address, amount)
        return address

    def mint_to(self, address: Pubkey, amount: int) -> None:
        """Mint test tokens to a token account."""
        params = MintToCheckedParams(
            program_id=TOKEN_PROGRAM_ID,
            mint=self.mint,
            dest=address,
            mint_authority=self.mint_authority.pubkey(),
            amount=amount,
            decimals=DECIMALS,
        )
        self.ok([mint_to_checked(params)], self.mint_authority)

    def balance(self, address: Pubkey) -> int:
        """A token account's balance."""
        account = self.svm.get_account(address)
        assert account is not None
        return int.from_bytes(bytes(account.data)[64:72], "little")

    def delegated(self, address: Pubkey) -> tuple[Pubkey | None, int]:
        """A token account's delegate and delegated amount."""
        account = self.svm.get_account(address)
        assert account is not None
        data = bytes(account.data)
        if data[72] == 0:
            return None, 0
        return Pubkey(data[76:108]), int.from_bytes(data[121:129], "little")

    def set_time(self, unix_timestamp: int) -> None:
        """Move the chain's clock."""
        clock = self.svm.get_clock()
        self.svm.set_clock(
            Clock(
                clock.slot,
                clock.epoch_start_timestamp,
                clock.epoch,
                clock.leader_schedule_epoch,
                unix_timestamp,
            )
        )

    def grant(self, **overrides: object) -> TransactionMetadata | FailedTransactionMetadata:
        """Send the owner's grant (defaults: the caps above, expiring in a day)."""
        args: dict[str, object] = {
            "owner": self.owner.pubkey(),
            "agent": self.agent.pubkey(),
            "payee": self.payee.pubkey(),
            "mint": self.mint,
            "source": self.source,
            "per_tx_cap": PER_TX_CAP,
            "cumulative_cap": CUMULATIVE_CAP,
            "expires_at": NOW + DAY,
        }
        args.update(overrides)
        return self.send([grant_ix(self.program_id, **args)], self.owner)  # type: ignore[arg-type]

    def grant_account(self) -> GrantAccount:
        """The grant as stored."""
        address, _ = grant_address(self.program_id, self.owner.pubkey(), self.agent.pubkey())
        account = self.svm.get_account(address)
        assert account is not None
        return GrantAccount.parse(bytes(account.data))

    def reference(self) -> bytes:
        """A fresh payment reference."""
        return next(self._refs).to_bytes(32, "big")

    def pay_instruction(self, amount: int, reference: bytes | None = None) -> Instruction:
        """The payee's pay instruction with the right accounts."""
        return pay_ix(
            self.program_id,
            payee=self.payee.pubkey(),
            owner=self.owner.pubkey(),
            agent=self.agent.pubkey(),
            source=self.source,
            mint=self.mint,
            destination=self.destination,
            amount=amount,
            reference=reference if reference is not None else self.reference(),
        )

    def pay(
        self, amount: int, reference: bytes | None = None
    ) -> TransactionMetadata | FailedTransactionMetadata:
        """Send a pay signed by the payee."""
        return self.send([self.pay_instruction(amount, reference)], self.payee)


def custom_error(result: TransactionMetadata | FailedTransactionMetadata) -> int | None:
    """The custom error code a failed transaction ended with (None if it succeeded)."""
    if isinstance(result, TransactionMetadata):
        return None
    err = result.err()
    assert isinstance(err, TransactionErrorInstructionError), err
    assert isinstance(err.err, InstructionErrorCustom), err
    return err.err.code


def refused(result: TransactionMetadata | FailedTransactionMetadata, error: ProgramError) -> bool:
    """Whether the transaction failed with this program error."""
    return custom_error(result) == int(error)


def make_chain(svm: LiteSVM, program_id: Pubkey) -> Chain:
    """Mint, owner funded with ``FUNDED`` tokens, payee account; no grant yet."""
    payer = Keypair()
    svm.airdrop(payer.pubkey(), 100_000_000_000)
    mint = Keypair()
    rent = svm.minimum_balance_for_rent_exemption(82)
    create = create_account(
        CreateAccountParams(
            from_pubkey=payer.pubkey(),
            to_pubkey=mint.pubkey(),
            lamports=rent,
            space=82,
            owner=TOKEN_PROGRAM_ID,
        )
    )
    init = initialize_mint2(
        InitializeMint2Params(
            decimals=DECIMALS,
            program_id=TOKEN_PROGRAM_ID,
            mint=mint.pubkey(),
            mint_authority=payer.pubkey(),
        )
    )
    message = Message([create, init], payer.pubkey())
    result = svm.send_transaction(Transaction([payer, mint], message, svm.latest_blockhash()))
    assert isinstance(result, TransactionMetadata), result
    chain = Chain(
        svm,
        program_id,
        mint.pubkey(),
        payer,
        Keypair(),
        Keypair(),
        Keypair(),
        Pubkey.default(),
        Pubkey.default(),
    )
    for party in (chain.owner, chain.agent, chain.payee):
        svm.airdrop(party.pubkey(), 10_000_000_000)
    chain.source = chain.token_account(chain.owner.pubkey(), FUNDED)
    chain.destination = chain.token_account(chain.payee.pubkey())
    return chain


@pytest.fixture
def chain() -> Chain:
    """A fresh chain with the committed program binary loaded and no grant."""
    svm = LiteSVM()
    program_id = Pubkey.new_unique()
    svm.add_program(program_id, program_binary())
    chain = make_chain(svm, program_id)
    chain.set_time(NOW)
    return chain


@pytest.fixture
def granted(chain: Chain) -> Chain:
    """The chain after the owner's default grant."""
    chain.ok(
        [
            grant_ix(
                chain.program_id,
                owner=chain.owner.pubkey(),
                agent=chain.agent.pubkey(),
                payee=chain.payee.pubkey(),
                mint=chain.mint,
                source=chain.source,
                per_tx_cap=PER_TX_CAP,
                cumulative_cap=CUMULATIVE_CAP,
                expires_at=NOW + DAY,
            )
        ],
        chain.owner,
    )
    return chain
