"""Spending authorities as grants of the project's spending-caps program.

The program (``gateway.chains.solana.program``) enforces every limit on-chain: the per-payment
cap, the cumulative cap, the expiry, revocation, that only the grant's payee pulls, into its
own USDC account, and that a reference pays at most once (a receipt account per reference).

Where the money sits: each agent's grant has its own **source** USDC account, owned by the
owner, at the seed-derived address of ``_token.agent_account(owner, agent)``. A token account
has a single delegate and the program approves the grant's PDA as that delegate, so one source
per agent is what lets an owner run several agents at once. ``grant`` creates the source if
needed, moves the cumulative cap into it from the owner's main account (and any excess back),
and the program then approves the grant PDA for exactly the cumulative cap — the SPL allowance
is a second on-chain bound. ``revoke`` revokes the grant (the program drops the approval) and
moves what is left in the source back to the owner's main account.
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.account import Account
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountWithSeedParams, create_account_with_seed
from solders.sysvar import CLOCK
from solders.transaction import VersionedTransaction
from spl.token import instructions as token
from spl.token.constants import ACCOUNT_LEN, TOKEN_PROGRAM_ID
from spl.token.models import InitializeAccount3Params, TransferCheckedParams

from gateway.chains._interface import AuthorityState
from gateway.chains.solana._rpc import SolanaRpc
from gateway.chains.solana._token import (
    USDC_DECIMALS,
    TokenAccount,
    agent_account,
    agent_seed,
    clock_unix_time,
    usdc_account,
)
from gateway.chains.solana.program._accounts import GrantAccount, ReceiptAccount
from gateway.chains.solana.program._instructions import (
    close_ix,
    grant_address,
    grant_ix,
    pay_ix,
    receipt_address,
    revoke_ix,
)
from gateway.errors import ChainError

__all__ = ["FoundPayment", "ProgramAuthority"]

REVOKE_ATTEMPTS = 3
_PAY_TAG = 1
_HISTORY_LIMIT = 50


@dataclass(frozen=True, slots=True)
class FoundPayment:
    """A payment found on-chain by its reference (``signature`` empty if its history is gone)."""

    signature: str
    amount: int


def _transfer(
    source: Pubkey, mint: Pubkey, dest: Pubkey, signer: Pubkey, amount: int
) -> Instruction:
    params = TransferCheckedParams(
        program_id=TOKEN_PROGRAM_ID,
        source=source,
        mint=mint,
        dest=dest,
        owner=signer,
        amount=amount,
        decimals=USDC_DECIMALS,
    )
    return token.transfer_checked(params)


def _is_payment(tx: VersionedTransaction, program: Pubkey, reference: bytes) -> bool:
    keys = tx.message.account_keys
    for ix in tx.message.instructions:
        data = bytes(ix.data)
        if (
            ix.program_id_index < len(keys)
            and keys[ix.program_id_index] == program
            and data[:1] == bytes([_PAY_TAG])
            and data[9:41] == reference
        ):
            return True
    return False


class ProgramAuthority:
    """Grant, read, pay under, find payments of, and revoke spending-caps grants."""

    def __init__(self, rpc: SolanaRpc, mint: Pubkey, program: Pubkey) -> None:
        self._rpc = rpc
        self._mint = mint
        self._program = program

    def _token(self, account: Account | None) -> TokenAccount | None:
        if account is None:
            return None
        state = TokenAccount.parse(account.owner, bytes(account.data))
        return state if state is not None and state.mint == self._mint else None

    def _grant(self, account: Account | None) -> GrantAccount | None:
        if account is None or account.owner != self._program:
            return None
        try:
            return GrantAccount.parse(bytes(account.data))
        except ChainError:
            return None

    async def grant(
        self,
        owner: Keypair,
        agent: Pubkey,
        payee: Pubkey,
        per_tx_cap: int,
        cumulative_cap: int,
        expires_at: int,
    ) -> str:
        """Fund the agent's source account with the cumulative cap and grant on it.

        An earlier grant of the agent is replaced in the same transaction (revoke, close,
        grant), so its ``paid`` restarts at 0, as on the EVM contract.
        """
        me = owner.pubkey()
        main, source = usdc_account(me, self._mint), agent_account(me, agent)
        grant_pda, _ = grant_address(self._program, me, agent)
        payer, main_raw, source_raw, grant_raw = await self._rpc.accounts(
            [me, main, source, grant_pda]
        )
        owner_usdc = self._token(main_raw)
        if owner_usdc is None:
            raise ChainError(
                "the owner has no USDC account yet: create the wallet first", code="no_wallet"
            )
        instructions: list[Instruction] = []
        if source_raw is None:
            instructions += await self._create_source(me, agent, source)
            held = 0
        else:
            state = self._token(source_raw)
            if state is None or state.owner != me:
                raise ChainError(f"the account {source} is not this owner's USDC account")
            held = state.amount
        need = cumulative_cap - held
        if need > owner_usdc.amount:
            raise ChainError(
                f"the owner's USDC account holds {owner_usdc.amount}; the cumulative cap needs "
                f"{need} more",
                code="insufficient_balance",
            )
        if need > 0:
            instructions.append(_transfer(main, self._mint, source, me, need))
        elif need < 0:
            instructions.append(_transfer(source, self._mint, main, me, -need))
        earlier = self._grant(grant_raw)
        if earlier is not None:
            if not earlier.revoked:
                instructions.append(
                    revoke_ix(self._program, owner=me, agent=agent, source=earlier.source)
                )
            instructions.append(close_ix(self._program, owner=me, agent=agent))
        instructions.append(
            grant_ix(
                self._program,
                owner=me,
                agent=agent,
                payee=payee,
                mint=self._mint,
                source=source,
                per_tx_cap=per_tx_cap,
                cumulative_cap=cumulative_cap,
                expires_at=expires_at,
            )
        )
        await self._rpc.top_up_fees(me, payer.lamports if payer else 0)
        return await self._rpc.send("grant", instructions, owner)

    async def _create_source(
        self, owner: Pubkey, agent: Pubkey, account: Pubkey
    ) -> list[Instruction]:
        create = CreateAccountWithSeedParams(
            from_pubkey=owner,
            to_pubkey=account,
            base=owner,
            seed=agent_seed(agent),
            lamports=await self._rpc.rent_exemption(ACCOUNT_LEN),
            space=ACCOUNT_LEN,
            owner=TOKEN_PROGRAM_ID,
        )
        init = InitializeAccount3Params(
            program_id=TOKEN_PROGRAM_ID, account=account, mint=self._mint, owner=owner
        )
        return [create_account_with_seed(create), token.initialize_account3(init)]

    async def read(self, owner: Pubkey, agent: Pubkey) -> AuthorityState | None:
        """The grant as the program holds it, or None (none, or not a grant in USDC).

        ``spendable`` is what the program would let the payee pull now: 0 once revoked or
        expired (by the chain's clock), else the least of the cumulative cap left, the SPL
        allowance of the grant on its source, and the source's balance.
        """
        grant_pda, _ = grant_address(self._program, owner, agent)
        raw, clock = await self._rpc.accounts([grant_pda, CLOCK])
        grant = self._grant(raw)
        # The program is mint-agnostic: a grant in another token is no USDC authority.
        if grant is None or (grant.owner, grant.agent, grant.mint) != (owner, agent, self._mint):
            return None
        now = clock_unix_time(bytes(clock.data)) if clock else 0
        spendable = 0
        if not grant.revoked and now < grant.expires_at:
            (source_raw,) = await self._rpc.accounts([grant.source])
            source = self._token(source_raw)
            if source is not None and source.delegate == grant_pda:
                spendable = min(grant.remaining, source.delegated_amount, source.amount)
        return AuthorityState(
            chain="solana",
            owner=str(owner),
            agent=str(agent),
            payee=str(grant.payee),
            per_tx_cap=grant.per_tx_cap,
            cumulative_cap=grant.cumulative_cap,
            paid=grant.paid,
            expires_at=grant.expires_at,
            revoked=grant.revoked,
            spendable=max(0, spendable),
        )

    async def pay(
        self, payee: Keypair, owner: Pubkey, agent: Pubkey, amount: int, reference: bytes
    ) -> str:
        """Pull ``amount`` as the grant's payee; the program checks every limit.

        A reference the chain already paid returns that payment when the amount matches (a
        retried settlement), else fails with ``reference_used``.
        """
        me = payee.pubkey()
        grant_pda, _ = grant_address(self._program, owner, agent)
        destination = usdc_account(me, self._mint)
        grant_raw, dest_raw, payer = await self._rpc.accounts([grant_pda, destination, me])
        grant = self._grant(grant_raw)
        # Without a grant the program refuses (no_authority); the source is only a placeholder.
        source = grant.source if grant is not None else agent_account(owner, agent)
        instructions: list[Instruction] = []
        if dest_raw is None:
            # The program pays only into an existing token account of the payee.
            instructions.append(
                token.create_idempotent_associated_token_account(me, me, self._mint)
            )
        instructions.append(
            pay_ix(
                self._program,
                payee=me,
                owner=owner,
                agent=agent,
                source=source,
                mint=self._mint,
                destination=destination,
                amount=amount,
                reference=reference,
            )
        )
        await self._rpc.top_up_fees(me, payer.lamports if payer else 0)
        try:
            return await self._rpc.send("payment", instructions, payee)
        except ChainError as exc:
            if exc.code != "reference_used":
                raise
            found = await self.find_payment(owner, agent, reference)
            if found is None or found.amount != amount or not found.signature:
                raise
            return found.signature

    async def find_payment(
        self, owner: Pubkey, agent: Pubkey, reference: bytes
    ) -> FoundPayment | None:
        """The payment with ``reference`` under the agent's grant: its receipt, and the
        transaction that created it."""
        grant_pda, _ = grant_address(self._program, owner, agent)
        receipt, _ = receipt_address(self._program, grant_pda, reference)
        (raw,) = await self._rpc.accounts([receipt])
        if raw is None or raw.owner != self._program:
            return None
        try:
            amount = ReceiptAccount.parse(bytes(raw.data)).amount
        except ChainError:
            return None
        history = await self._rpc.signatures(receipt, None, _HISTORY_LIMIT)
        key = (self._program, reference)
        # Oldest first: anyone may send lamports to the address later, never pay from it.
        for entry in reversed(history):
            if entry.err is not None:
                continue
            found = await self._rpc.transaction(entry.signature)
            if found is not None and found[1] is None and _is_payment(found[0], *key):
                return FoundPayment(str(entry.signature), amount)
        return FoundPayment("", amount)

    async def revoke(self, owner: Keypair, agent: Pubkey) -> str:
        """Revoke the grant and move what is left in its source back to the owner."""
        me = owner.pubkey()
        main = usdc_account(me, self._mint)
        grant_pda, _ = grant_address(self._program, me, agent)
        for attempt in range(REVOKE_ATTEMPTS):
            grant_raw, payer = await self._rpc.accounts([grant_pda, me])
            grant = self._grant(grant_raw)
            if grant is None or grant.owner != me:
                raise ChainError(f"agent {agent} has no authority from {me}", code="no_authority")
            (source_raw,) = await self._rpc.accounts([grant.source])
            source = self._token(source_raw)
            instructions = [revoke_ix(self._program, owner=me, agent=agent, source=grant.source)]
            if source is not None and source.owner == me and source.amount and grant.source != main:
                instructions.append(_transfer(grant.source, self._mint, main, me, source.amount))
            await self._rpc.top_up_fees(me, payer.lamports if payer else 0)
            try:
                return await self._rpc.send("revocation", instructions, owner)
            except ChainError as exc:
                # A payment landed between the read and the send, so the balance moved: reread.
                if exc.code != "insufficient_funds" or attempt + 1 == REVOKE_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")
