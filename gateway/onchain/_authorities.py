"""Agents' authorities read from the chain, cached briefly, and mirrored into the ledger.

The ledger enforces an authority with ``remaining = cumulative_cap − spent − reserved`` over
everything it ever charged under it, while the chain knows what was *paid*. So the mirrored
``cumulative_cap`` is what the chain still lets this payee pull (``spendable``: the cap left,
the owner's balance and allowance) **plus what the ledger already settled** under the
authority; the ledger's remaining is then exactly the chain's spendable minus the charges not
settled yet and the open reservations. A settlement leaves that sum unchanged (paid and settled
grow together); the ledger is read before the chain so a settlement in between can only make
the mirrored cap tighter for one refresh, never looser.

A payment the chain refuses blocks the authority at once (``block``): revoked → the ledger's
``authority_revoked``, expired → ``authority_expired``, anything else → a cumulative cap of 0
(``spending_cap_exceeded``), until the chain's state of the authority changes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import trio

from gateway.chains._interface import AuthorityState
from gateway.errors import ChainError
from gateway.identity import parse_account
from gateway.ledger import AuthorityLimits, Ledger
from gateway.onchain._parties import (
    Parties,
    authority_key,
    chain_of_namespace,
    key_address,
)
from gateway.onchain._pool import ChainPool
from gateway.onchain._store import SettlementStore
from gateway.onchain._types import AgentRecord

__all__ = ["AuthorityBook", "Resolved"]

_CACHE_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class Resolved:
    """An agent's authority as last read from the chain, and what the ledger was told."""

    agent: AgentRecord
    state: AuthorityState | None
    limits: AuthorityLimits | None
    payee_is_ours: bool
    blocked: str | None

    def live(self, now: float) -> bool:
        """Granted to this gateway's payee, not revoked, expired or blocked."""
        state = self.state
        return (
            state is not None
            and self.payee_is_ours
            and self.blocked is None
            and not state.revoked
            and now < state.expires_at
        )


@dataclass(slots=True)
class _Cached:
    value: Resolved | None
    fresh_until: float


def _blocked_limits(limits: AuthorityLimits, code: str, now: int) -> AuthorityLimits:
    if code == "revoked":
        return dataclasses.replace(limits, revoked=True)
    if code == "expired":
        expires = now if limits.expires_at is None else min(limits.expires_at, now)
        return dataclasses.replace(limits, expires_at=expires)
    return dataclasses.replace(limits, cumulative_cap=0)


class AuthorityBook:
    """Finds an identity's on-chain authority, caches it for ``ttl`` seconds, mirrors it."""

    def __init__(
        self,
        *,
        ledger: Ledger | None,
        store: SettlementStore,
        pool: ChainPool,
        parties: Parties,
        clock: Callable[[], float],
        ttl: float,
    ) -> None:
        self._ledger = ledger
        self._store = store
        self._pool = pool
        self._parties = parties
        self._clock = clock
        self._ttl = ttl
        self._cache: dict[str, _Cached] = {}
        self._locks: dict[str, trio.Lock] = {}
        self._blocks: dict[str, tuple[str, AuthorityState | None]] = {}
        self._mirrored: dict[str, AuthorityLimits] = {}
        # Bumped by ``forget``: a read that started before a payment must not be cached after it.
        self._epochs: dict[str, int] = {}

    async def find_agent(self, identity: str, owner: str | None = None) -> AgentRecord | None:
        """Where ``identity``'s authority lives: the home's own agent, the token's ``owner``
        claim, or an agent seen before; None if ``identity`` is no agent this gateway knows."""
        try:
            account = parse_account(identity)
        except ValueError:
            return None
        chain = chain_of_namespace(account.namespace)
        key = authority_key(chain, account.address)
        label = await trio.to_thread.run_sync(self._parties.local_agent, chain, account.address)
        if label is not None:
            master = await trio.to_thread.run_sync(self._parties.owner)
            owner_address = key_address(master, chain)
        elif owner is not None:
            try:
                claimed = parse_account(owner)
            except ValueError:
                return None
            if claimed.namespace != account.namespace:
                return None
            owner_address = claimed.address
        else:
            return await self._store.agent(key)
        return AgentRecord(key, chain, owner_address, account.address, label, self._clock())

    async def lookup(
        self, identity: str, *, owner: str | None = None, fresh: bool = False
    ) -> Resolved | None:
        """The authority of ``identity`` (cached unless ``fresh``), mirrored into the ledger."""
        now = trio.current_time()
        cached = self._cache.get(identity)
        if cached is not None and not fresh and now < cached.fresh_until:
            return cached.value
        lock = self._locks.setdefault(identity, trio.Lock())
        async with lock:
            cached = self._cache.get(identity)
            if cached is not None and not fresh and trio.current_time() < cached.fresh_until:
                return cached.value
            record = await self.find_agent(identity, owner)
            if record is not None and self._pool.never_started(record.chain):
                # A home that never made a wallet on its embedded chain has no grant there:
                # an agent key's call does not start the node just to learn that.
                record = None
            epoch = None if record is None else self._epochs.get(record.authority, 0)
            try:
                value = None if record is None else await self.refresh(record)
            except ChainError:
                if cached is None:
                    raise
                # The chain cannot be read right now: keep what it said last, for one more period.
                cached.fresh_until = trio.current_time() + self._ttl
                return cached.value
            if value is not None and value.state is None and value.limits is None:
                value = None  # an agent key without any grant: not an on-chain agent (yet)
            if record is None or self._epochs.get(record.authority, 0) == epoch:
                self._cache[identity] = _Cached(value, trio.current_time() + self._ttl)
            return value

    async def refresh(self, record: AgentRecord) -> Resolved:
        """Read the authority from the chain now and mirror it into the ledger."""
        key = record.authority
        epoch = self._epochs.get(key, 0)
        # The ledger before the chain: see the module docstring.
        row = None if self._ledger is None else await self._ledger.authority(key)
        backend = await self._pool.get(record.chain)
        state = await backend.read_authority(record.owner, record.agent)
        payee = await trio.to_thread.run_sync(self._parties.payee, record.chain)
        payee_is_ours = state is not None and state.payee.lower() == (
            key_address(payee, record.chain).lower()
        )
        blocked = self._blocks.get(key)
        if blocked is not None and blocked[1] != state:
            del self._blocks[key]  # the owner changed the authority: try again
            blocked = None
        limits: AuthorityLimits | None = None
        if state is not None:
            settled = 0 if row is None else row.settled
            limits = AuthorityLimits(
                key,
                per_tx_cap=state.per_tx_cap,
                cumulative_cap=state.spendable + settled,
                expires_at=state.expires_at,
                revoked=state.revoked,
            )
            await self._store.remember_agent(record)
        elif row is not None:
            # Known to the ledger, gone from the chain: nothing may be spent under it.
            limits = AuthorityLimits(key, cumulative_cap=0, revoked=True)
        if limits is not None and blocked is not None:
            limits = _blocked_limits(limits, blocked[0], int(self._clock()))
        if limits is not None:
            await self._mirror(limits)
        code = None if blocked is None else blocked[0]
        resolved = Resolved(record, state, limits, payee_is_ours, code)
        if self._epochs.get(key, 0) == epoch:
            self._remember(key, resolved)
        return resolved

    def forget(self, authority: str) -> None:
        """A payment under ``authority`` landed: what is cached of it is stale, so the next
        look-up reads the chain (and reads already under way are not cached)."""
        self._epochs[authority] = self._epochs.get(authority, 0) + 1
        for identity, cached in list(self._cache.items()):
            if identity == authority or (
                cached.value is not None and cached.value.agent.authority == authority
            ):
                del self._cache[identity]

    def _remember(self, key: str, resolved: Resolved) -> None:
        now = trio.current_time()
        if len(self._cache) >= _CACHE_LIMIT:
            for identity in [i for i, c in self._cache.items() if c.fresh_until <= now]:
                del self._cache[identity]
                self._locks.pop(identity, None)
        entry = _Cached(resolved, now + self._ttl)
        for identity, cached in self._cache.items():
            if cached.value is not None and cached.value.agent.authority == key:
                self._cache[identity] = entry
        self._cache.setdefault(key, entry)

    async def _mirror(self, limits: AuthorityLimits) -> None:
        if self._ledger is None or self._mirrored.get(limits.authority) == limits:
            return
        await self._ledger.set_authority(limits)
        self._mirrored[limits.authority] = limits

    async def block(self, record: AgentRecord, code: str) -> Resolved:
        """The chain refused a payment with ``code``: refuse the agent's calls from now on."""
        try:
            backend = await self._pool.get(record.chain)
            state = await backend.read_authority(record.owner, record.agent)
        except ChainError:
            state = None
        self._blocks[record.authority] = (code, state)
        try:
            return await self.refresh(record)
        except ChainError:
            # The chain cannot be read now: block what the ledger was last told.
            last = self._mirrored.get(record.authority)
            if last is not None:
                await self._mirror(_blocked_limits(last, code, int(self._clock())))
            raise
