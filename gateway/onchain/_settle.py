"""The settlement worker: pays the ledger's accrued charges to the operator on-chain.

Per authority, the charges not settled yet (oldest first) are grouped into batches of at most
the authority's per-transaction cap; each batch is one payment with a fresh 32-byte reference.
Exactly-once, across crashes:

1. ``begin``: the settlement (reference, amount, charge ids) is written to the journal and made
   durable — before anything is sent;
2. ``pay``: the payment is sent with that reference; the chain accepts a reference once;
3. ``record``: the journal says ``paid`` with the transaction id, the ledger marks the charges
   settled, and the journal says ``recorded``.

After a crash anywhere in between, ``recover`` takes each unfinished settlement: if the chain
holds a payment with its reference, it is recorded; otherwise it is sent again with the same
reference (so even a payment that lands late cannot land twice). A refusal by the chain marks
the settlement ``refused`` and blocks the agent at once; its charges stay unsettled and
``ledger reconcile`` reports them as unpaid. An unreachable chain leaves the settlement to the
next cycle.

Two failpoints (``gateway/failpoints.py``) mark the windows a crash test kills the gateway in:
``settlement.before_pay`` (journalled, not sent) and ``settlement.after_pay`` (paid, not
recorded).

One worker per journal settles: the worker holds an exclusive lock on ``<journal>.lock``
(several server processes share a home); the others wait and take over if it stops.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import logging
import os
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import trio

from gateway.chains._interface import ChainBackend
from gateway.errors import ChainError, GatewayError
from gateway.failpoints import Failpoints
from gateway.ledger import Ledger, UnsettledCharge
from gateway.onchain._authorities import AuthorityBook, Resolved
from gateway.onchain._parties import Parties, key_address, key_secret
from gateway.onchain._pool import ChainPool
from gateway.onchain._store import SettlementStore
from gateway.onchain._types import AgentRecord, SettlementRecord, SettlementStatus, SettleReport
from gateway.settings._schema import SettlementSettings

__all__ = ["TRANSIENT_CODES", "Batch", "Settler"]

_log = logging.getLogger("bitrouter.settlement")

# Failures that say nothing about the authority: the next cycle looks the payment up and retries.
TRANSIENT_CODES = frozenset({"chain_unreachable", "chain_timeout", "chain_error", "chain_refused"})
_POLL_SECONDS = 2.0
_FETCH = 1000


@dataclass(frozen=True, slots=True)
class Batch:
    """Charges of one authority to pay in one transaction."""

    agent: AgentRecord
    charge_ids: tuple[int, ...]
    amount: int


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[bool]:
    """Hold the lock at ``path`` for the block if no other process holds it; whether it does."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
        else:
            yield True
    finally:
        os.close(fd)  # releases the lock


def batches(charges: Sequence[UnsettledCharge], per_tx_cap: int) -> tuple[list[list[int]], int]:
    """Charge ids grouped (in order) into batches of at most ``per_tx_cap``; also the µUSD of
    charges too large for any payment (they stay unpaid)."""
    groups: list[list[int]] = []
    current: list[int] = []
    total = stuck = 0
    for charge in charges:
        if charge.cost > per_tx_cap:
            stuck += charge.cost
            continue
        if total + charge.cost > per_tx_cap:
            groups.append(current)
            current, total = [], 0
        current.append(charge.id)
        total += charge.cost
    if current:
        groups.append(current)
    return groups, stuck


class Settler:
    """Plans, sends, records and recovers settlement payments (see the module docstring)."""

    def __init__(
        self,
        *,
        ledger: Ledger,
        store: SettlementStore,
        book: AuthorityBook,
        pool: ChainPool,
        parties: Parties,
        settings: SettlementSettings,
        clock: Callable[[], float],
        lock_path: Path,
        failpoints: Failpoints | None = None,
    ) -> None:
        self._lock_path = lock_path
        self._failpoints = failpoints or Failpoints()
        # True while this worker holds the journal's lock (and so is the one that settles).
        self.active = False
        self._ledger = ledger
        self._store = store
        self._book = book
        self._pool = pool
        self._parties = parties
        self._settings = settings
        self._clock = clock
        self._wake = trio.Event()
        self._lock = trio.Lock()
        self._warned: set[str] = set()
        self._started = self._finished = 0
        self._quiet_until = float("-inf")
        self._finished_event = trio.Event()
        self._last = SettleReport()

    def _warn_once(self, authority: str, message: str, *args: object) -> None:
        # The worker polls every few seconds: one line per authority, not one per poll.
        if authority not in self._warned:
            self._warned.add(authority)
            _log.warning(message, *args)

    def kick(self) -> None:
        """Run a settlement check now (the worker otherwise polls every few seconds)."""
        self._wake.set()

    async def next_cycle(self) -> SettleReport:
        """Wait until the worker finishes a cycle that starts after this call; its report."""
        target = self._started + 1
        while self._finished < target:
            await self._finished_event.wait()
        return self._last

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """The worker: settle whatever crossed the threshold, and everything each interval.

        Only the process holding the journal's lock settles; the others look again each
        interval, so one of them takes over when the settling process stops.
        """
        task_status.started()
        if armed := self._failpoints.armed:
            listed = ", ".join(f"{name}={action}" for name, action in sorted(armed.items()))
            _log.warning("settlement: failpoints armed (fault injection for tests): %s", listed)
        while True:
            with _exclusive(self._lock_path) as mine:
                if mine:
                    self.active = True
                    try:
                        await self._work()
                    finally:
                        self.active = False
            await trio.sleep(self._settings.interval_seconds)

    async def _work(self) -> None:
        interval = self._settings.interval_seconds
        last_full = trio.current_time()
        while True:
            with trio.move_on_after(min(interval, _POLL_SECONDS)):
                await self._wake.wait()
            self._wake = trio.Event()
            full = trio.current_time() - last_full >= interval
            if full:
                last_full = trio.current_time()
            self._started += 1
            report = SettleReport()
            # After a chain failure, only the next full cycle tries again (no retry every poll).
            if full or trio.current_time() >= self._quiet_until:
                try:
                    report = await self.settle_once(force=full)
                except GatewayError as exc:  # the chain or a setting: logged, retried later
                    _log.warning("settlement: %s", exc.message)
                    self._quiet_until = trio.current_time() + interval
            self._finished, self._last = self._started, report
            self._finished_event.set()
            self._finished_event = trio.Event()

    async def settle_once(self, *, force: bool = True) -> SettleReport:
        """Recover unfinished settlements, then pay each authority whose unsettled charges
        reach the threshold (every one with ``force``)."""
        async with self._lock:
            recovered = await self._recover()
            pending = {i for r in await self._store.unfinished() for i in r.charge_ids}
            by_authority: dict[str, int] = {}
            for charge in await self._ledger.unsettled(limit=_FETCH):
                if charge.id not in pending:
                    by_authority[charge.authority] = (
                        by_authority.get(charge.authority, 0) + charge.cost
                    )
            payments = amount = refused = 0
            for authority, due in by_authority.items():
                if not force and due < max(1, self._settings.threshold_micro_usd):
                    continue
                for record in await self._settle_authority(authority):
                    if record.status == "refused":
                        refused += 1
                    elif record.status in ("paid", "recorded"):
                        payments += 1
                        amount += record.amount
            return SettleReport(payments, amount, refused, recovered)

    async def _settle_authority(self, authority: str) -> list[SettlementRecord]:
        agent = await self._book.find_agent(authority)
        if agent is None:
            self._warn_once(authority, "settlement: no on-chain agent known for %s", authority)
            return []
        resolved = await self._book.refresh(agent)
        if not self._payable(resolved):
            return []
        assert resolved.state is not None  # _payable
        done: list[SettlementRecord] = []
        for batch in await self.plan(agent, resolved.state.per_tx_cap):
            record = await self.begin(batch)
            done.append(await self.send(record))
            if done[-1].status != "recorded":
                break  # refused or not reachable: the rest waits
        if any(record.status == "recorded" for record in done):
            await self._book.refresh(agent)  # what was paid shows at once in the views
        return done

    def _payable(self, resolved: Resolved) -> bool:
        state = resolved.state
        if state is None or resolved.blocked is not None or state.revoked:
            return False
        if not resolved.payee_is_ours:
            self._warn_once(
                resolved.agent.authority,
                "settlement: the authority of %s pays %s, not this gateway",
                resolved.agent.authority,
                state.payee,
            )
            return False
        return True

    async def plan(self, agent: AgentRecord, per_tx_cap: int) -> list[Batch]:
        """The batches that would settle ``agent``'s unsettled charges now."""
        pending = {i for r in await self._store.unfinished() for i in r.charge_ids}
        charges = [
            c
            for c in await self._ledger.unsettled(agent.authority, limit=_FETCH)
            if c.id not in pending
        ]
        groups, stuck = batches(charges, per_tx_cap)
        if stuck:
            _log.warning(
                "settlement: %d µUSD of %s's charges exceed its per-transaction cap",
                stuck,
                agent.authority,
            )
        cost = {c.id: c.cost for c in charges}
        return [Batch(agent, tuple(ids), sum(cost[i] for i in ids)) for ids in groups]

    async def begin(self, batch: Batch) -> SettlementRecord:
        """Journal a settlement with a fresh reference (durable before it is sent)."""
        payee = await trio.to_thread.run_sync(self._parties.payee, batch.agent.chain)
        record = SettlementRecord(
            reference=secrets.token_bytes(32),
            chain=batch.agent.chain,
            authority=batch.agent.authority,
            owner=batch.agent.owner,
            agent=batch.agent.agent,
            payee=key_address(payee, batch.agent.chain),
            amount=batch.amount,
            charge_ids=batch.charge_ids,
            status="sending",
            tx_id=None,
            error=None,
            error_code=None,
            created_at=self._clock(),
        )
        await self._store.begin(record)
        return record

    async def pay(self, record: SettlementRecord) -> str:
        """Send the settlement's payment (ChainError if the chain refuses or is unreachable)."""
        backend = await self._pool.get(record.chain)
        payee = await trio.to_thread.run_sync(self._parties.payee, record.chain)
        result = await backend.pay(
            key_secret(payee, record.chain),
            record.owner,
            record.agent,
            record.amount,
            record.reference,
        )
        return result.tx_id

    async def record(self, record: SettlementRecord, tx_id: str) -> SettlementRecord:
        """The payment is on-chain: journal it, mark its charges settled, journal that."""
        # Before the journal shows it settled, so that no view shows it with a stale authority.
        self._book.forget(record.authority)
        now = self._clock()
        await self._store.finish(record.reference, "paid", now, tx_id=tx_id)
        await self._ledger.mark_settled(record.charge_ids, tx_id)
        await self._store.finish(record.reference, "recorded", self._clock())
        return _with(record, "recorded", tx_id=tx_id)

    async def send(self, record: SettlementRecord) -> SettlementRecord:
        """Pay, then record; a refusal blocks the agent; an unreachable chain waits."""
        await self._failpoints.reach("settlement.before_pay")
        try:
            tx_id = await self.pay(record)
        except ChainError as exc:
            if exc.code == "reference_used":
                return await self._look_up(record, exc)
            if exc.code in TRANSIENT_CODES:
                _log.warning("settlement %s: %s", record.reference.hex()[:16], exc.message)
                self._quiet_until = trio.current_time() + self._settings.interval_seconds
                return record
            return await self._refused(record, exc)
        await self._failpoints.reach("settlement.after_pay")
        return await self.record(record, tx_id)

    async def _look_up(self, record: SettlementRecord, exc: ChainError) -> SettlementRecord:
        backend = await self._pool.get(record.chain)
        found = await backend.find_payment(record.owner, record.agent, record.reference)
        if found is not None and found.amount == record.amount:
            return await self.record(record, found.tx_id or f"reference:{record.reference.hex()}")
        return await self._refused(record, exc)

    async def _refused(self, record: SettlementRecord, exc: ChainError) -> SettlementRecord:
        _log.warning("settlement refused for %s: %s", record.authority, exc.message)
        await self._store.finish(
            record.reference, "refused", self._clock(), error=exc.message, error_code=exc.code
        )
        agent = await self._book.find_agent(record.authority) or AgentRecord(
            record.authority, record.chain, record.owner, record.agent, None, record.created_at
        )
        await self._book.block(agent, exc.code)
        return _with(record, "refused", error=exc.message, error_code=exc.code)

    async def _recover(self) -> int:
        recovered = 0
        for record in await self._store.unfinished():
            if record.status == "paid" and record.tx_id is not None:
                await self.record(record, record.tx_id)
                recovered += 1
                continue
            backend: ChainBackend = await self._pool.get(record.chain)
            # Look before resending: the payment may have landed before the crash.
            found = await backend.find_payment(record.owner, record.agent, record.reference)
            if found is not None:
                tx_id = found.tx_id or f"reference:{record.reference.hex()}"
                await self.record(record, tx_id)
            elif (await self.send(record)).status == "sending":
                continue
            recovered += 1
        return recovered


def _with(
    record: SettlementRecord,
    status: SettlementStatus,
    *,
    tx_id: str | None = None,
    error: str | None = None,
    error_code: str | None = None,
) -> SettlementRecord:
    return dataclasses.replace(
        record, status=status, tx_id=tx_id or record.tx_id, error=error, error_code=error_code
    )
