"""What the owner (the home's master key) does on-chain: wallets, funding, agents, revocation.

These back ``bitrouter swig …``. Each step that waits for the chain says so through
``progress`` first (the CLI prints it), and every refusal is the backend's one-line
``ChainError`` naming what the chain refused and why.
"""

from __future__ import annotations

from collections.abc import Callable

import trio

from gateway.chains._interface import ChainFamily, TxResult, Wallet
from gateway.errors import BadRequest
from gateway.onchain._parties import Parties, authority_key, key_address, key_secret
from gateway.onchain._pool import ChainPool
from gateway.onchain._store import SettlementStore
from gateway.onchain._types import (
    AgentGrant,
    AgentRecord,
    AgentStatus,
    AgentView,
    WalletBalance,
)

__all__ = ["OwnerActions"]

_MAX_U64 = 2**64 - 1


def _positive(value: int, flag: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= _MAX_U64:
        raise BadRequest(f"{flag} must be a positive integer of µUSD", param=flag.lstrip("-"))
    return value


class OwnerActions:
    """The owner's on-chain actions over the home's keys (see the module docstring)."""

    def __init__(
        self,
        *,
        pool: ChainPool,
        parties: Parties,
        store: SettlementStore,
        clock: Callable[[], float],
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self._pool = pool
        self._parties = parties
        self._store = store
        self._clock = clock
        self._progress = progress

    def _say(self, text: str) -> None:
        if self._progress is not None:
            self._progress(text)

    async def _owner(self, chain: ChainFamily) -> tuple[bytes, str]:
        master = await trio.to_thread.run_sync(self._parties.owner)
        return key_secret(master, chain), key_address(master, chain)

    async def create_wallet(self, chain: ChainFamily) -> Wallet:
        """Create (idempotently) the master key's USDC wallet on ``chain``."""
        secret, owner = await self._owner(chain)
        backend = await self._pool.get(chain)
        self._say(f"creating the {chain} wallet of {owner} (waiting for confirmation)")
        wallet = await backend.create_wallet(secret)
        await self._store.remember_wallet(chain, wallet.owner, self._clock())
        return wallet

    async def fund(self, chain: ChainFamily, amount: int) -> TxResult:
        """Mint test USDC to the master key's wallet (embedded chains only)."""
        _positive(amount, "--amount")
        _, owner = await self._owner(chain)
        backend = await self._pool.get(chain)
        self._say(f"minting {amount} µUSD of test USDC to {owner} (waiting for confirmation)")
        result = await backend.fund(owner, amount)
        await self._store.remember_wallet(chain, owner, self._clock())
        return result

    async def derive_agent(
        self,
        label: str,
        *,
        chain: ChainFamily,
        per_tx_cap: int,
        cumulative_cap: int,
        expires_at: int,
        payee: str | None = None,
    ) -> AgentGrant:
        """Create (or reuse) the agent key ``label`` and grant it an authority on ``chain``.

        The payee is ``payee`` when given (a hosted operator's treasury), else this gateway's
        own settlement key. A new grant replaces an earlier one of the same agent.
        """
        _positive(per_tx_cap, "--per-tx-cap")
        _positive(cumulative_cap, "--cumulative-cap")
        if per_tx_cap > cumulative_cap:
            raise BadRequest("--per-tx-cap must not be above --cumulative-cap", param="per_tx_cap")
        if expires_at <= self._clock():
            raise BadRequest(f"--expires-at {expires_at} is not in the future", param="expires_at")
        secret, owner = await self._owner(chain)
        key, created = await trio.to_thread.run_sync(self._parties.agent_or_new, label)
        if payee is None:
            payee = key_address(await trio.to_thread.run_sync(self._parties.payee, chain), chain)
        agent = key_address(key, chain)
        backend = await self._pool.get(chain)
        self._say(f"granting agent {label} ({agent}) on {chain} (waiting for confirmation)")
        result = await backend.grant(secret, agent, payee, per_tx_cap, cumulative_cap, expires_at)
        record = AgentRecord(authority_key(chain, agent), chain, owner, agent, label, self._clock())
        await self._store.remember_agent(record)
        return AgentGrant(
            label=label,
            chain=chain,
            agent=agent,
            authority=record.authority,
            owner=owner,
            payee=payee,
            per_tx_cap=per_tx_cap,
            cumulative_cap=cumulative_cap,
            expires_at=expires_at,
            tx_id=result.tx_id,
            new_key=created,
        )

    async def chains_in_use(self, default: ChainFamily) -> list[ChainFamily]:
        """The chains where the master key has a wallet or an agent (else ``default``)."""
        master = await trio.to_thread.run_sync(self._parties.owner)
        used = await self._store.wallet_chains([master.solana_address, master.evm_address])
        return [c for c in ("solana", "tempo") if c in used] or [default]

    async def list_agents(self, chains: list[ChainFamily]) -> list[AgentView]:
        """The home's agents with their authorities on ``chains``, read from the chain."""
        labels = await trio.to_thread.run_sync(self._parties.labels)
        views: list[AgentView] = []
        for chain in chains:
            _, owner = await self._owner(chain)
            backend = await self._pool.get(chain)
            for label in labels:
                key = await trio.to_thread.run_sync(self._parties.agent, label)
                agent = key_address(key, chain)
                state = await backend.read_authority(owner, agent)
                status: AgentStatus = "no_authority"
                if state is not None and state.revoked:
                    status = "revoked"
                elif state is not None:
                    status = "expired" if self._clock() >= state.expires_at else "active"
                views.append(
                    AgentView(label, chain, agent, authority_key(chain, agent), state, status)
                )
        return views

    async def revoke_agent(self, label: str, chains: list[ChainFamily]) -> list[TxResult]:
        """Revoke the agent's authority on each of ``chains`` where it has one."""
        key = await trio.to_thread.run_sync(self._parties.agent, label)
        results: list[TxResult] = []
        for chain in chains:
            secret, owner = await self._owner(chain)
            backend = await self._pool.get(chain)
            agent = key_address(key, chain)
            if await backend.read_authority(owner, agent) is None:
                continue
            self._say(f"revoking agent {label} on {chain} (waiting for confirmation)")
            results.append(await backend.revoke(secret, agent))
        if not results:
            where = " or ".join(chains)
            raise BadRequest(f"agent {label!r} has no authority on {where} to revoke")
        return results

    async def balances(self, chains: list[ChainFamily]) -> list[WalletBalance]:
        """The master key's USDC on each of ``chains``."""
        out: list[WalletBalance] = []
        for chain in chains:
            _, owner = await self._owner(chain)
            backend = await self._pool.get(chain)
            out.append(WalletBalance(chain, owner, await backend.usdc_balance(owner)))
        return out
