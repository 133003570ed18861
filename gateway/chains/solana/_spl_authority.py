"""Spending authorities as SPL Token delegations — this issue's model, meant to be swapped out.

Per agent, the owner holds one USDC account at a seed-derived address (``_token.agent_account``),
funded from the owner's main USDC account up to the cumulative cap, and ``approve_checked``s the
payee's settlement key for the cumulative cap. Who enforces what:

- cumulative cap and revocation: the SPL Token program (the allowance; ``revoke``);
- per-transaction cap and expiry: this gateway, before it sends a payment — they are recorded
  on-chain with the grant (see ``_records``) and read back from the chain, not from a local file;
- reference uniqueness: this gateway, by looking the reference up among the payments made since
  the current grant (two concurrent payments with one reference could both land).

A follow-up replaces this module with the project's own program enforcing all of it on-chain;
``SolanaChain`` only calls ``grant``, ``read``, ``pay``, ``find_payment`` and ``revoke``.
"""

from __future__ import annotations

from solders.account import Account
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountWithSeedParams, create_account_with_seed
from solders.sysvar import CLOCK
from spl.memo.constants import MEMO_PROGRAM_ID
from spl.memo.instructions import create_memo
from spl.memo.models import MemoParams
from spl.token import instructions as token
from spl.token.constants import ACCOUNT_LEN, TOKEN_PROGRAM_ID
from spl.token.models import (
    ApproveCheckedParams,
    InitializeAccount3Params,
    RevokeParams,
    TransferCheckedParams,
)

from gateway.chains._interface import AuthorityState
from gateway.chains.solana._records import GrantRecord, grant_memo, pay_memo, revoke_memo
from gateway.chains.solana._rpc import SolanaRpc
from gateway.chains.solana._scan import FoundPayment, HistoryScanner
from gateway.chains.solana._token import (
    USDC_DECIMALS,
    TokenAccount,
    agent_account,
    agent_seed,
    clock_unix_time,
    usdc_account,
)
from gateway.errors import ChainError

__all__ = ["SplAuthority"]

REVOKE_ATTEMPTS = 3


def _memo(signer: Pubkey, text: bytes) -> Instruction:
    return create_memo(MemoParams(program_id=MEMO_PROGRAM_ID, signer=signer, message=text))


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


def _paid(state: TokenAccount, record: GrantRecord) -> int:
    if record.revoked:
        return record.paid_at_revocation
    if state.delegate == record.payee:
        return max(0, record.cumulative_cap - state.delegated_amount)
    # SPL Token clears the delegate when the allowance reaches zero: all of it was used (or the
    # owner removed it outside the gateway, which leaves nothing to spend either).
    return record.cumulative_cap


class SplAuthority:
    """Grant, read, pay under, find payments of, and revoke SPL-delegate authorities."""

    def __init__(self, rpc: SolanaRpc, mint: Pubkey) -> None:
        self._rpc = rpc
        self._mint = mint
        self._history = HistoryScanner(rpc)

    def _token(self, account: Account | None) -> TokenAccount | None:
        if account is None:
            return None
        state = TokenAccount.parse(account.owner, bytes(account.data))
        return state if state is not None and state.mint == self._mint else None

    async def grant(
        self,
        owner: Keypair,
        agent: Pubkey,
        payee: Pubkey,
        per_tx_cap: int,
        cumulative_cap: int,
        expires_at: int,
    ) -> str:
        """Create and fund the agent's account, approve ``payee`` for the cumulative cap."""
        me = owner.pubkey()
        main, account = usdc_account(me, self._mint), agent_account(me, agent)
        payer, source, existing, clock = await self._rpc.accounts([me, main, account, CLOCK])
        now = clock_unix_time(bytes(clock.data)) if clock else 0
        if expires_at <= now:
            raise ChainError(
                f"expires_at {expires_at} is not after the chain's time ({now})", code="bad_expiry"
            )
        owner_usdc = self._token(source)
        if owner_usdc is None:
            raise ChainError(
                "the owner has no USDC account yet: create the wallet first", code="no_wallet"
            )
        instructions: list[Instruction] = []
        if existing is None:
            instructions += await self._create_account(me, agent, account)
            held = 0
        else:
            state = self._token(existing)
            if state is None or state.owner != me:
                raise ChainError(f"the account {account} is not this owner's USDC account")
            held = state.amount
        need = cumulative_cap - held
        if need > owner_usdc.amount:
            raise ChainError(
                f"the owner's USDC account holds {owner_usdc.amount}; the cumulative cap needs "
                f"{need} more",
                code="insufficient_balance",
            )
        if need > 0:
            instructions.append(_transfer(main, self._mint, account, me, need))
        approve = ApproveCheckedParams(
            program_id=TOKEN_PROGRAM_ID,
            source=account,
            mint=self._mint,
            delegate=payee,
            owner=me,
            amount=cumulative_cap,
            decimals=USDC_DECIMALS,
        )
        instructions.append(token.approve_checked(approve))
        instructions.append(_memo(me, grant_memo(payee, per_tx_cap, cumulative_cap, expires_at)))
        await self._rpc.top_up_fees(me, payer.lamports if payer else 0)
        return await self._rpc.send("grant", instructions, owner)

    async def _create_account(
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
        """The authority as the chain holds it, or None."""
        account = agent_account(owner, agent)
        (raw,) = await self._rpc.accounts([account])
        state = self._token(raw)
        if state is None or state.owner != owner:
            return None
        record = await self._history.latest_record(owner, account)
        return None if record is None else self._authority(owner, agent, state, record)

    def _authority(
        self, owner: Pubkey, agent: Pubkey, state: TokenAccount, record: GrantRecord
    ) -> AuthorityState:
        revoked = record.revoked or state.delegate not in (None, record.payee)
        live = not revoked and state.delegate == record.payee
        return AuthorityState(
            chain="solana",
            owner=str(owner),
            agent=str(agent),
            payee=str(record.payee),
            per_tx_cap=record.per_tx_cap,
            cumulative_cap=record.cumulative_cap,
            paid=_paid(state, record),
            expires_at=record.expires_at,
            revoked=revoked,
            spendable=min(state.delegated_amount, state.amount) if live else 0,
        )

    async def pay(
        self, payee: Keypair, owner: Pubkey, agent: Pubkey, amount: int, reference: bytes
    ) -> str:
        """Check the gateway-enforced limits, then pull ``amount`` as the payee (delegate)."""
        me, account = payee.pubkey(), agent_account(owner, agent)
        dest = usdc_account(me, self._mint)
        raw, dest_raw, payer, clock = await self._rpc.accounts([account, dest, me, CLOCK])
        state = self._token(raw)
        scan = await self._history.since_record(owner, account, reference) if state else None
        if state is None or scan is None or scan.record is None:
            raise ChainError(
                f"agent {agent} has no authority from {owner}", code="authority_missing"
            )
        if scan.payment is not None:
            if scan.payment.amount == amount:
                return scan.payment.signature
            raise ChainError(
                f"reference {reference.hex()} was already used for a payment of "
                f"{scan.payment.amount}",
                code="reference_used",
            )
        authority = self._authority(owner, agent, state, scan.record)
        self._check(authority, me, amount, clock_unix_time(bytes(clock.data)) if clock else 0)
        instructions: list[Instruction] = []
        if dest_raw is None:
            instructions.append(
                token.create_idempotent_associated_token_account(me, me, self._mint)
            )
        instructions.append(_transfer(account, self._mint, dest, me, amount))
        instructions.append(_memo(me, pay_memo(reference)))
        await self._rpc.top_up_fees(me, payer.lamports if payer else 0)
        return await self._rpc.send("payment", instructions, payee)

    @staticmethod
    def _check(authority: AuthorityState, payee: Pubkey, amount: int, now: int) -> None:
        if authority.payee != str(payee):
            raise ChainError(
                f"{payee} is not the payee of agent {authority.agent}'s authority",
                code="wrong_payee",
            )
        if authority.revoked:
            raise ChainError(
                f"the authority of agent {authority.agent} was revoked", code="authority_revoked"
            )
        if amount > authority.per_tx_cap:
            raise ChainError(
                f"the payment of {amount} exceeds the per-transaction cap of "
                f"{authority.per_tx_cap}",
                code="spending_cap_exceeded",
            )
        if now >= authority.expires_at:
            raise ChainError(
                f"the authority of agent {authority.agent} expired at {authority.expires_at} "
                f"(chain time {now})",
                code="authority_expired",
            )

    async def find_payment(
        self, owner: Pubkey, agent: Pubkey, reference: bytes
    ) -> FoundPayment | None:
        """The payment carrying ``reference`` out of the agent's account, over its whole history."""
        account = agent_account(owner, agent)
        return await self._history.payment(account, reference)

    async def revoke(self, owner: Keypair, agent: Pubkey) -> str:
        """Revoke the delegation and return the account's USDC to the owner's main account."""
        me = owner.pubkey()
        main, account = usdc_account(me, self._mint), agent_account(me, agent)
        for attempt in range(REVOKE_ATTEMPTS):
            raw, payer = await self._rpc.accounts([account, me])
            state = self._token(raw)
            if state is None or state.owner != me:
                raise ChainError(
                    f"agent {agent} has no authority from {me}", code="authority_missing"
                )
            record = await self._history.latest_record(me, account)
            paid = _paid(state, record) if record is not None else 0
            revoke = RevokeParams(program_id=TOKEN_PROGRAM_ID, account=account, owner=me)
            instructions = [token.revoke(revoke)]
            if state.amount:
                instructions.append(_transfer(account, self._mint, main, me, state.amount))
            instructions.append(_memo(me, revoke_memo(record, paid)))
            await self._rpc.top_up_fees(me, payer.lamports if payer else 0)
            try:
                return await self._rpc.send("revocation", instructions, owner)
            except ChainError as exc:
                # A payment landed between the read and the send, so the balance moved: reread.
                if exc.code != "insufficient_funds" or attempt + 1 == REVOKE_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")
