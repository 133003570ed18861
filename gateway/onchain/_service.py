"""``Onchain``: the gateway's on-chain side as one service, and ``open_onchain`` that builds it."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path

import trio

from gateway.chains._interface import ChainBackend, ChainFamily
from gateway.errors import ConfigError
from gateway.failpoints import Failpoints
from gateway.identity import Keystore, Principal, parse_account
from gateway.ledger import AuthorityLimits, Ledger
from gateway.onchain._authorities import AuthorityBook
from gateway.onchain._owner import OwnerActions
from gateway.onchain._parties import Parties, authority_key, chain_of_namespace
from gateway.onchain._pool import ChainPool
from gateway.onchain._reconcile import reconcile
from gateway.onchain._settle import Settler
from gateway.onchain._store import SettlementStore
from gateway.onchain._types import ReconcileReport, SettleReport, WalletBalance
from gateway.settings import Settings

__all__ = ["Onchain", "open_onchain"]


def _same(chain: ChainFamily, a: str, b: str) -> bool:
    return a == b if chain == "solana" else a.lower() == b.lower()


class Onchain:
    """Agents' authorities, settlement, wallets and the owner's actions, over lazy chains.

    ``chains`` opens a chain family's backend on first use; ``owner`` holds the master key's
    actions (``bitrouter swig``); ``settler`` is None without a ledger (the CLI's swig).
    """

    def __init__(
        self,
        *,
        settings: Settings,
        ledger: Ledger | None,
        keystore: Keystore,
        store: SettlementStore,
        chains: ChainPool,
        clock: Callable[[], float],
        cache_seconds: float,
        store_path: Path,
    ) -> None:
        self.settings = settings
        self.chains = chains
        self.store = store
        self._ledger = ledger
        self._clock = clock
        self._workers: set[trio.CancelScope] = set()
        parties = Parties(keystore, settings.settlement)
        self.parties = parties
        self.book = AuthorityBook(
            ledger=ledger,
            store=store,
            pool=chains,
            parties=parties,
            clock=clock,
            ttl=cache_seconds,
        )
        self.owner = OwnerActions(
            pool=chains, parties=parties, store=store, clock=clock, progress=chains.progress
        )
        self.settler = (
            None
            if ledger is None
            else Settler(
                ledger=ledger,
                store=store,
                book=self.book,
                pool=chains,
                parties=parties,
                settings=settings.settlement,
                clock=clock,
                lock_path=store_path.with_name(store_path.name + ".lock"),
                failpoints=Failpoints(settings.failpoints),
            )
        )

    def _need_settler(self) -> Settler:
        if self.settler is None:
            raise ConfigError("settlement needs the ledger: open_onchain was given none")
        return self.settler

    async def authority_for(
        self, principal_identity: str, *, owner: str | None = None
    ) -> AuthorityLimits | None:
        """The on-chain authority of the agent key that signed the token, as mirrored into the
        ledger — pass ``.authority`` as the ledger principal's ``authority``. None when the
        issuer is no agent with a grant (a master key, or an agent never granted).

        ``owner`` is the token's ``owner`` claim: how a gateway finds the authority of another
        home's agent. Read from the chain at most every ``cache_seconds``.
        """
        resolved = await self.book.lookup(principal_identity, owner=owner)
        return None if resolved is None else resolved.limits

    async def authority_of(self, principal: Principal) -> AuthorityLimits | None:
        """``authority_for`` a verified token (its issuer and ``owner`` claim)."""
        return await self.authority_for(principal.identity, owner=principal.claims.owner)

    async def paying_authority(self, principal: Principal) -> str | None:
        """The ledger authority paying for a verified caller (``metering.AuthorityLookup``)."""
        limits = await self.authority_of(principal)
        return None if limits is None else limits.authority

    async def onchain_policy(self, principal: Principal) -> bool:
        """``auth.policy: onchain``: the issuer is an agent with a live authority paying here."""
        resolved = await self.book.lookup(principal.identity, owner=principal.claims.owner)
        return resolved is not None and resolved.live(self._clock())

    async def authority_view(
        self, identity: str, *, owner: str | None = None
    ) -> dict[str, object] | None:
        """The issuer's authority as the chain holds it (for ``/v1/balance``), or None."""
        resolved = await self.book.lookup(identity, owner=owner)
        if resolved is None or resolved.state is None:
            return None
        state = resolved.state
        return {
            "chain": resolved.agent.chain,
            "owner": state.owner,
            "agent": state.agent,
            "payee": state.payee,
            "per_tx_cap": state.per_tx_cap,
            "cumulative_cap": state.cumulative_cap,
            "paid": state.paid,
            "remaining": state.remaining,
            "spendable": state.spendable,
            "expires_at": state.expires_at,
            "revoked": state.revoked,
            "blocked": resolved.blocked,
        }

    async def balance_lookup(self, identity: str) -> dict[str, list[dict[str, object]]]:
        """Wallets and authorities of ``identity`` for ``/v1/balance`` (``metering.WalletLookup``):
        an agent's own authority, or an owner's agents' authorities, and the paying wallet."""
        agents: list[dict[str, object]] = []
        for key in await self._authorities_of(identity):
            view = await self.authority_view(key)
            if view is not None:
                agents.append({"authority": key, **view})
        return {"wallets": await self.wallets(identity), "agents": agents}

    async def run_settlement(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """The settlement worker, for the app's nursery (returns at once if disabled)."""
        if not self.settings.settlement.enabled or self.settler is None:
            task_status.started()
            return
        # Stopped by open_onchain's exit too, so that it never outlives the journal it writes.
        with trio.CancelScope() as scope:
            self._workers.add(scope)
            try:
                await self.settler.run(task_status=task_status)
            finally:
                self._workers.discard(scope)

    def stop_workers(self) -> None:
        """Cancel the settlement workers this service runs (done on close)."""
        for scope in self._workers:
            scope.cancel()

    def kick(self) -> None:
        """Have the worker look at the unsettled charges now (e.g. after a large charge)."""
        if self.settler is not None:
            self.settler.kick()

    async def settle_now(self) -> SettleReport:
        """One settlement cycle now, every authority regardless of the threshold."""
        return await self._need_settler().settle_once(force=True)

    async def _authorities_of(self, identity: str) -> list[str]:
        try:
            account = parse_account(identity)
        except ValueError:
            return []
        chain = chain_of_namespace(account.namespace)
        keys = {authority_key(chain, account.address)}
        for agent in await self.store.agents():
            if agent.chain == chain and _same(chain, agent.owner, account.address):
                keys.add(agent.authority)
        return sorted(keys)

    async def transactions(
        self, identity: str | None, *, limit: int = 100
    ) -> list[dict[str, object]]:
        """Settlements newest first: of the identity (as agent or as owner), or all for None."""
        authorities = None if identity is None else await self._authorities_of(identity)
        records = await self.store.settlements(authorities, limit=limit)
        return [record.to_transaction() for record in records]

    async def reconcile(self) -> ReconcileReport:
        """On-chain payments against the ledger (``bitrouter ledger reconcile``)."""
        if self._ledger is None:
            raise ConfigError("reconcile needs the ledger: open_onchain was given none")
        return await reconcile(self._ledger, self.store, self.chains, self.book)

    async def wallets(self, identity: str) -> list[dict[str, object]]:
        """The USDC wallet paying for ``identity``: an agent's owner's, else its own."""
        try:
            account = parse_account(identity)
        except ValueError:
            return []
        agent = await self.book.find_agent(identity)
        chain = chain_of_namespace(account.namespace)
        address = account.address if agent is None else agent.owner
        backend: ChainBackend = await self.chains.get(chain)
        return [WalletBalance(chain, address, await backend.usdc_balance(address)).to_dict()]


@contextlib.asynccontextmanager
async def open_onchain(
    settings: Settings,
    ledger: Ledger | None,
    keystore: Keystore,
    *,
    backends: Mapping[ChainFamily, ChainBackend] | None = None,
    clock: Callable[[], float] = time.time,
    cache_seconds: float = 5.0,
    progress: Callable[[str], None] | None = None,
    store_path: Path | None = None,
) -> AsyncIterator[Onchain]:
    """The on-chain service for one gateway (or CLI command); chains open on first use.

    Args:
        ledger: the spending ledger (None for commands that only act on-chain).
        backends: already opened backends to use instead of the settings' (tests).
        clock: unix seconds (expiry checks, record times).
        cache_seconds: how long an authority read from the chain is trusted.
        progress: told each slow step (starting a node, waiting for a confirmation).
        store_path: the settlement journal (default ``<home>/settlements.db``).
    """
    path = store_path or settings.home / "settlements.db"
    store = await SettlementStore.open(path)
    pool = ChainPool(settings, backends=backends, progress=progress)
    onchain: Onchain | None = None
    try:
        onchain = Onchain(
            settings=settings,
            ledger=ledger,
            keystore=keystore,
            store=store,
            chains=pool,
            clock=clock,
            cache_seconds=cache_seconds,
            store_path=path,
        )
        yield onchain
    finally:
        if onchain is not None:
            onchain.stop_workers()
        await pool.aclose()
        await store.aclose()
