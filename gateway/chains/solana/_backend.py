"""``SolanaChain``: the ChainBackend for Solana, USDC as an SPL token, caps in our program.

Modes (``chains.solana`` in the settings): ``embedded`` starts or reuses the local node (see
``node``) and takes the test USDC mint and the spending-caps program from it; ``rpc`` talks to
``rpc_url`` (devnet by default for the mint: Circle's devnet USDC); ``mainnet`` uses mainnet
USDC and is refused by the settings unless ``confirm_mainnet`` is set. Outside ``embedded`` the
program's address is ``authority_program``. The chain is reached only through solana-py's
AsyncClient.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import trio
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.sysvar import CLOCK
from spl.token.instructions import create_idempotent_associated_token_account

from gateway.chains._daemon import ensure_node
from gateway.chains._interface import AuthorityState, ChainFamily, Payment, TxResult, Wallet
from gateway.chains.solana._program_authority import ProgramAuthority
from gateway.chains.solana._rpc import Restart, SolanaRpc, rpc_label
from gateway.chains.solana._token import (
    DEVNET_USDC,
    MAINNET_RPC,
    MAINNET_USDC,
    TokenAccount,
    clock_unix_time,
    usdc_account,
)
from gateway.errors import ChainError, ConfigError
from gateway.settings import ChainSettings

__all__ = ["NODE_MODULE", "SolanaChain", "open_solana"]

NODE_MODULE = "gateway.chains.solana.node"
MAX_U64 = 2**64 - 1
# A new USDC account costs ~0.002 SOL rent plus fees.
MIN_SOL_FOR_WALLET = 3_000_000


def _keypair(secret: bytes, what: str) -> Keypair:
    if len(secret) != 32:
        raise ChainError(f"the {what} secret must be a 32-byte seed", code="bad_key")
    return Keypair.from_seed(secret)


def _address(value: str, what: str) -> Pubkey:
    try:
        return Pubkey.from_string(value)
    except ValueError:
        raise ChainError(
            f"the {what} {value!r} is not a Solana address", code="bad_address"
        ) from None


def _amount(value: int, what: str, unit: str = "USDC base units") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_U64:
        raise ChainError(f"{what} must be a positive integer ({unit})", code="bad_amount")
    return value


def _reference(value: bytes) -> bytes:
    if len(value) != 32:
        raise ChainError("a payment reference must be 32 bytes", code="bad_reference")
    return bytes(value)


class SolanaChain:
    """Wallets, USDC balances, agent authorities and payments on one Solana chain."""

    chain: ChainFamily = "solana"

    def __init__(
        self, rpc: SolanaRpc, usdc_mint: Pubkey, caps_program: Pubkey | None, *, embedded: bool
    ) -> None:
        self._rpc = rpc
        self._mint = usdc_mint
        self._embedded = embedded
        self._program = caps_program
        rpc.caps_program = caps_program
        self._grants = (
            None if caps_program is None else ProgramAuthority(rpc, usdc_mint, caps_program)
        )

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(
        cls,
        url: str,
        *,
        embedded: bool,
        usdc_mint: str | None = None,
        authority_program: str | None = None,
        restart: Restart | None = None,
    ) -> AsyncIterator[SolanaChain]:
        """A backend on the RPC at ``url``; ``embedded`` means our own node (mint and program
        from it). Elsewhere ``authority_program`` is the spending-caps program's address; without
        it wallets and balances work but agent authorities raise ConfigError.

        ``restart`` (embedded only) starts the node again if it exited while idle.
        """
        rpc = SolanaRpc(url, airdrop_fees=embedded, restart=restart)
        try:
            program: Pubkey | None = None
            if embedded:
                config = await rpc.node_call("bitrouter_getConfig", [])
                mint = _address(str(config["usdc_mint"]), "node's USDC mint")
                program = _address(str(config["caps_program"]), "node's spending-caps program")
            else:
                mint = _address(usdc_mint, "USDC mint") if usdc_mint else DEVNET_USDC
                if authority_program:
                    program = _address(authority_program, "authority_program")
                    (found,) = await rpc.accounts([program])
                    if found is None or not found.executable:
                        raise ConfigError(
                            f"no program at chains.solana.authority_program ({program}) on "
                            f"{rpc_label(url)}"
                        )
            yield cls(rpc, mint, program, embedded=embedded)
        finally:
            await rpc.aclose()

    @property
    def caps_program(self) -> str | None:
        """The spending-caps program's address (None: not configured)."""
        return None if self._program is None else str(self._program)

    def _authorities(self) -> ProgramAuthority:
        if self._grants is None:
            raise ConfigError(
                "agent authorities on Solana need chains.solana.authority_program (the "
                "spending-caps program's address)"
            )
        return self._grants

    @property
    def usdc_mint(self) -> str:
        """The USDC mint this backend pays in."""
        return str(self._mint)

    async def chain_time(self) -> int:
        """The chain's clock (unix seconds), which authority expiry is judged by."""
        (clock,) = await self._rpc.accounts([CLOCK])
        if clock is None:
            raise ChainError("the chain has no clock sysvar")
        return clock_unix_time(bytes(clock.data))

    async def advance_clock(self, seconds: int) -> int:
        """Move the embedded chain's clock forward; the new chain time."""
        if not self._embedded:
            raise ChainError("only the embedded chain's clock can be moved", code="not_embedded")
        return int(await self._rpc.node_call("bitrouter_advanceClock", [seconds]))

    def _funding_hint(self, owner: Pubkey, account: Pubkey) -> str:
        if self._embedded:
            return "Embedded test chain: fund() mints test USDC to this wallet (no real money)."
        if self._mint == MAINNET_USDC:
            return (
                f"Send USDC on Solana to {owner} (it lands in {account}), and ~0.01 SOL for fees."
            )
        return (
            f"Send USDC (mint {self._mint}, e.g. from Circle's devnet faucet) to {owner}, "
            "and ~0.05 SOL for fees."
        )

    async def create_wallet(self, owner_secret: bytes) -> Wallet:
        """Create (idempotently) the owner's main USDC account: its associated token account."""
        owner = _keypair(owner_secret, "owner")
        me = owner.pubkey()
        main = usdc_account(me, self._mint)
        payer, existing = await self._rpc.accounts([me, main])
        lamports = payer.lamports if payer else 0
        await self._rpc.top_up_fees(me, lamports)
        if existing is None:
            if not self._embedded and lamports < MIN_SOL_FOR_WALLET:
                raise ChainError(
                    f"the wallet {me} needs ~0.01 SOL for fees and rent first: send SOL to it",
                    code="no_sol",
                )
            create = create_idempotent_associated_token_account(me, me, self._mint)
            await self._rpc.send("wallet creation", [create], owner)
        return Wallet("solana", str(me), str(main), self._funding_hint(me, main))

    async def usdc_balance(self, owner: str) -> int:
        """USDC in the owner's main account (not counting what sits in agents' accounts)."""
        (raw,) = await self._rpc.accounts([usdc_account(_address(owner, "owner"), self._mint)])
        state = TokenAccount.parse(raw.owner, bytes(raw.data)) if raw else None
        return state.amount if state is not None and state.mint == self._mint else 0

    async def fund(self, owner: str, amount: int) -> TxResult:
        """Mint test USDC to the owner's main account (embedded chain only)."""
        if not self._embedded:
            raise ChainError(
                "fund() mints test USDC on the embedded chain only; send USDC to the wallet",
                code="not_embedded",
            )
        params = [str(_address(owner, "owner")), _amount(amount, "amount")]
        signature = await self._rpc.node_call("bitrouter_fundUsdc", params)
        return TxResult("solana", str(signature))

    async def grant(
        self,
        owner_secret: bytes,
        agent: str,
        payee: str,
        per_tx_cap: int,
        cumulative_cap: int,
        expires_at: int,
    ) -> TxResult:
        """Grant ``agent`` an authority payable to ``payee`` (see ``_program_authority``)."""
        signature = await self._authorities().grant(
            _keypair(owner_secret, "owner"),
            _address(agent, "agent"),
            _address(payee, "payee"),
            _amount(per_tx_cap, "per_tx_cap"),
            _amount(cumulative_cap, "cumulative_cap"),
            _amount(expires_at, "expires_at", "unix seconds"),
        )
        return TxResult("solana", signature)

    async def read_authority(self, owner: str, agent: str) -> AuthorityState | None:
        """The authority of ``agent`` under ``owner`` as the chain holds it, or None."""
        return await self._authorities().read(_address(owner, "owner"), _address(agent, "agent"))

    async def pay(
        self, payee_secret: bytes, owner: str, agent: str, amount: int, reference: bytes
    ) -> TxResult:
        """Pull ``amount`` to the payee; a reference already paid returns that payment."""
        signature = await self._authorities().pay(
            _keypair(payee_secret, "payee"),
            _address(owner, "owner"),
            _address(agent, "agent"),
            _amount(amount, "amount"),
            _reference(reference),
        )
        return TxResult("solana", signature)

    async def find_payment(self, owner: str, agent: str, reference: bytes) -> Payment | None:
        """The payment with this reference under the agent's grant, if the chain has one."""
        found = await self._authorities().find_payment(
            _address(owner, "owner"), _address(agent, "agent"), _reference(reference)
        )
        if found is None:
            return None
        return Payment("solana", found.signature, bytes(reference), found.amount, agent)

    async def revoke(self, owner_secret: bytes, agent: str) -> TxResult:
        """Revoke the authority and return the agent account's USDC to the owner."""
        signature = await self._authorities().revoke(
            _keypair(owner_secret, "owner"), _address(agent, "agent")
        )
        return TxResult("solana", signature)


@contextlib.asynccontextmanager
async def open_solana(settings: ChainSettings, home: Path) -> AsyncIterator[SolanaChain]:
    """The backend the ``chains.solana`` settings describe, closed on exit.

    ``embedded`` starts the node in the home (``chains/solana``) if it is not running; the node
    deploys the spending-caps program on its first start. Otherwise the program is at
    ``authority_program``.
    """
    if settings.mode == "embedded":

        async def start_node() -> str:
            return await trio.to_thread.run_sync(ensure_node, home, "solana", NODE_MODULE)

        url = await start_node()
        async with SolanaChain.connect(url, embedded=True, restart=start_node) as chain:
            yield chain
        return
    if settings.mode == "mainnet":
        if settings.usdc and settings.usdc != str(MAINNET_USDC):
            raise ConfigError(f"chains.solana.usdc on mainnet must be {MAINNET_USDC}")
        url, mint = settings.rpc_url or MAINNET_RPC, str(MAINNET_USDC)
    else:
        if not settings.rpc_url:
            raise ConfigError("chains.solana.mode 'rpc' needs rpc_url")
        url, mint = settings.rpc_url, settings.usdc or str(DEVNET_USDC)
    async with SolanaChain.connect(
        url, embedded=False, usdc_mint=mint, authority_program=settings.authority_program
    ) as chain:
        yield chain
