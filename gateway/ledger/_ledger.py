"""The spending ledger service: reserve → call → charge, the usage views, recovery and the check.

One ``Ledger`` sits on one store (memory, SQLite or Postgres). Times come from the injected
clock (unix seconds), never from the database, so every store agrees and tests can drive time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

import trio

from gateway.ledger import _scripts
from gateway.ledger._check import replay
from gateway.ledger._hold import Hold
from gateway.ledger._rules import Policy, budget_window
from gateway.ledger._store import AuthorityRow, Store, UsageQuery
from gateway.ledger._types import (
    AuthorityLimits,
    CallUsage,
    Charge,
    Principal,
    QuoteOutcome,
    Reservation,
    ReserveRequest,
    StoredQuote,
)
from gateway.ledger._views import (
    AuthorityStatus,
    Balance,
    BudgetStatus,
    CheckReport,
    GroupBy,
    Headroom,
    RecoveryReport,
    SummaryRow,
    UnsettledCharge,
    UsagePage,
)
from gateway.settings._schema import LimitsSettings

__all__ = ["Ledger"]

_RECOVERY_BATCH = 200
# How long after a deadline the recovery task looks: the store's test is "strictly before now".
_RECOVERY_SLACK = 0.05


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else int(seconds * 1000)


class Ledger:
    """Every limit on spending, kept in one store; see ``specs/spending.md`` for the rules."""

    def __init__(self, store: Store, *, clock: Callable[[], float], limits: LimitsSettings):
        self._store = store
        self._clock = clock
        self._policy = Policy.from_settings(limits)

    @property
    def backend(self) -> str:
        """``memory``, ``sqlite`` or ``postgres``."""
        return self._store.name

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def reserve(self, request: ReserveRequest) -> Reservation:
        """Hold the call's maximum cost against every limit of its principal, atomically.

        Raises:
            SpendingError: 402 (``budget_exhausted``, ``spending_cap_exceeded``,
                ``authority_expired``, ``authority_revoked``, ``insufficient_balance``).
            RateLimited: 429 with ``retry_after``.
        """
        now = self._now_ms()
        return await self._store.write(
            lambda tx: _scripts.reserve(tx, request, self._policy, now), durable=False
        )

    async def _finish(self, reservation_id: int, how: _scripts.Finish) -> Charge:
        now = self._now_ms()
        return await self._store.write(
            lambda tx: _scripts.finish(tx, reservation_id, how, self._policy, now)
        )

    async def charge(self, reservation: Reservation, cost: int, usage: CallUsage) -> Charge:
        """Charge the actual ``cost`` (clamped to the reservation) and release the rest.

        Durable when it returns. Charging a finished reservation again changes nothing.
        """
        if isinstance(cost, bool) or not isinstance(cost, int) or cost < 0:
            raise ValueError(f"cost must be a non-negative integer, got {cost!r}")
        return await self._finish(reservation.id, _scripts.Finish(cost, usage))

    async def release(self, reservation: Reservation, usage: CallUsage | None = None) -> Charge:
        """Charge nothing and release the whole reservation (the call did not happen or failed)."""
        return await self._finish(reservation.id, _scripts.Finish(None, usage))

    @asynccontextmanager
    async def hold(self, request: ReserveRequest) -> AsyncIterator[Hold]:
        """Reserve, run the body, and always finish the reservation on the way out.

        The body calls ``await hold.charge(...)`` (or ``hold.record(...)`` to have the exit
        charge it); if it does neither, the exit releases the reservation. The exit is
        shielded from cancellation, so a disconnected client still gets its usage recorded.
        """
        reservation = await self.reserve(request)
        hold = Hold(self, reservation)
        try:
            yield hold
        finally:
            if hold.result is None:
                with trio.CancelScope(shield=True):
                    await hold.finish_pending()

    async def headroom(self, principal: Principal) -> Headroom:
        """The most that could be reserved for ``principal`` right now, and the binding limit."""
        now = self._now_ms()
        state = await self._store.read(lambda tx: _scripts.principal_state(tx, principal, now))
        return Headroom(state.headroom, state.limited_by)

    async def balance(self, principal: Principal) -> Balance:
        """Totals, token budget, authority and headroom of ``principal``."""
        now = self._now_ms()
        state = await self._store.read(lambda tx: _scripts.principal_state(tx, principal, now))
        limits = principal.limits
        budget = None
        if limits.budget is not None and budget_window(limits, now) is not None:
            budget = BudgetStatus(
                limits.budget,
                limits.budget_scope,
                None if limits.budget_range is None else str(limits.budget_range),
                state.window_used,
                max(0, limits.budget - state.window_used),
            )
        agent = state.authority
        a = state.account
        return Balance(
            identity=principal.identity,
            spent=a.spent,
            reserved=a.reserved,
            settled=a.settled,
            requests=a.requests,
            budget=budget,
            authority=None if agent is None else _authority_status(agent),
            remaining=state.headroom,
            limited_by=state.limited_by,
            expires_at=None if agent is None else agent.limits.expires_at,
        )

    async def set_authority(self, limits: AuthorityLimits) -> None:
        """Create or update an agent's spending authority (its totals are kept)."""
        now = self._now_ms()
        await self._store.write(lambda tx: tx.put_authority(limits, now))

    async def authority(self, authority: str) -> AuthorityStatus | None:
        """An agent's spending authority and what is held against it, or None."""
        row = await self._store.read(lambda tx: tx.authority(authority))
        return None if row is None else _authority_status(row)

    async def usage(
        self,
        identity: str | None,
        *,
        limit: int = 50,
        before: int | None = None,
        subject: str | None = None,
        provider: str | None = None,
        kind: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> UsagePage:
        """Finished calls of ``identity`` (every identity when None: admin), newest first.

        ``since`` ≤ created_at < ``until`` (unix seconds); ``before`` is the previous page's
        ``next_before``.
        """
        if not 1 <= limit <= 1000:
            raise ValueError("limit must be between 1 and 1000")
        query = UsageQuery(identity, subject, provider, kind, _ms(since), _ms(until), before)
        items = await self._store.usage(query, limit + 1)
        more = len(items) > limit
        page = tuple(items[:limit])
        return UsagePage(page, page[-1].id if more else None)

    async def summary(
        self,
        identity: str | None,
        *,
        group_by: GroupBy = "model",
        kind: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> tuple[SummaryRow, ...]:
        """Totals of finished calls per model, provider, kind or UTC day (``YYYY-MM-DD``)."""
        if group_by not in ("model", "provider", "day", "kind"):
            raise ValueError("group_by must be model, provider, day or kind")
        query = UsageQuery(identity, None, None, kind, _ms(since), _ms(until))
        return tuple(await self._store.summary(query, group_by))

    async def check(self) -> CheckReport:
        """Verify every invariant of the books; ``ok`` is False with each breach named."""
        return replay(await self._store.check_rows(), self._now_ms())

    async def recover_expired(self) -> RecoveryReport:
        """Charge every open reservation past its deadline at its reserved amount.

        Its request may have been served before its process died, and the user authorized up
        to that amount; a late charge or release from a process that was only stalled corrects
        it downwards, until it is settled.
        """
        resolved = charged = 0
        while ids := await self._store.expired(self._now_ms(), _RECOVERY_BATCH):
            for entry_id in ids:
                result = await self._finish(entry_id, _scripts.Finish(None, None, recovering=True))
                resolved += result.changed
                charged += result.cost if result.changed else 0
        return RecoveryReport(resolved, charged)

    async def run_recovery(
        self, interval: float, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Recover expired reservations as their deadlines pass (run it in the app's nursery).

        It wakes at the earliest open deadline in the database, and at least every ``interval``
        seconds and every reservation deadline (``reservation_ttl_seconds``), so that a
        reservation made meanwhile, by any process, is not left open long past its deadline.
        """
        task_status.started()
        longest = min(interval, self._policy.ttl_ms / 1000)
        while True:
            # Both clocks are read before the query, so that time passing while it runs counts.
            woke, now = trio.current_time(), self._clock()
            wait = longest
            deadline = await self._store.next_deadline()
            if deadline is not None:
                wait = min(wait, max(0.0, deadline / 1000 - now) + _RECOVERY_SLACK)
            await trio.sleep_until(woke + wait)
            await self.recover_expired()

    async def unsettled(
        self, authority: str | None = None, *, limit: int = 1000
    ) -> tuple[UnsettledCharge, ...]:
        """Charges under an authority (or every authority) not settled yet, oldest first."""
        return tuple(await self._store.unsettled(authority, limit))

    async def mark_settled(self, ids: Sequence[int], tx_id: str) -> int:
        """Record that transaction ``tx_id`` paid these charges; the µUSD newly settled."""
        return await self._store.mark_settled(ids, tx_id, self._now_ms())

    async def put_quote(self, quote: StoredQuote) -> None:
        """Keep a price quote for every process sharing the database (until a day after it
        expires)."""
        await self._store.put_quote(quote)

    async def take_quote(
        self, quote_id: str, identity: str, now: float
    ) -> tuple[QuoteOutcome, StoredQuote | None]:
        """Redeem a quote: mark it used and return it — only if it exists, is ``identity``'s,
        unused and unexpired at ``now`` (unix seconds); otherwise say which failed. Atomic
        across processes, and durable when it returns."""
        return await self._store.take_quote(quote_id, identity, round(now * 1000))

    async def is_revoked(self, key: str) -> bool:
        """Whether the token ``key`` (jti or token hash) is revoked, as of this moment."""
        return await self._store.is_revoked(key)

    async def revoke(self, key: str, *, issuer: str, reason: str) -> None:
        """Revoke the token ``key``; other processes sharing the database see it at once."""
        await self._store.revoke(key, issuer, reason, self._now_ms())


def _authority_status(row: AuthorityRow) -> AuthorityStatus:
    limits = row.limits
    remaining = None
    if limits.cumulative_cap is not None:
        remaining = max(0, limits.cumulative_cap - row.spent - row.reserved)
    return AuthorityStatus(
        limits.authority,
        limits.per_tx_cap,
        limits.cumulative_cap,
        limits.expires_at,
        limits.revoked,
        row.spent,
        row.reserved,
        row.settled,
        remaining,
    )
