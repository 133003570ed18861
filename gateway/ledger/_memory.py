"""The ledger in memory: the same rules and scripts as the database stores, for fast tests of
the code that calls the ledger. A transaction is a script run without awaiting, so nothing else
runs in between; an undo log takes back what a failed script wrote. Nothing survives the
process. Every operation is a checkpoint, as trio expects of an async function."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TypeVar

import trio

from gateway.ledger._rules import Grant, Window
from gateway.ledger._store import (
    AccountRow,
    AuthorityRow,
    CheckRow,
    CheckRows,
    Close,
    EntryRow,
    Loaded,
    NewEntry,
    Tx,
    UsageQuery,
)
from gateway.ledger._types import (
    KEEP_AFTER_EXPIRY_MS,
    AuthorityLimits,
    CallUsage,
    QuoteOutcome,
    StoredQuote,
)
from gateway.ledger._views import GroupBy, SummaryRow, UnsettledCharge, UsageRecord, day_key

__all__ = ["MemoryStore"]

T = TypeVar("T")


@dataclasses.dataclass(slots=True)
class _Entry:
    new: NewEntry
    id: int
    status: str = "open"
    cost: int = 0
    hold: int = 0
    overage: int = 0
    recovered: bool = False
    usage: CallUsage = dataclasses.field(default_factory=CallUsage)
    outcome: str = ""
    done_ms: int | None = None
    settled_ms: int | None = None
    settle_tx: str | None = None

    def record(self) -> UsageRecord:
        n, u, t = self.new, self.usage, self.usage.tokens
        return UsageRecord(
            self.id,
            n.request_id,
            n.identity,
            n.authority,
            n.kind,
            n.subject,
            u.provider,
            self.status,
            n.reserved,
            self.cost,
            self.overage,
            t.prompt,
            t.completion,
            t.cached,
            t.cache_write,
            t.reasoning,
            u.latency_ms,
            u.ttft_ms,
            self.outcome,
            n.t_ms / 1000,
            None if self.done_ms is None else self.done_ms / 1000,
            self.settle_tx,
        )


class _MemoryTx:
    """The ``Tx`` interface over the store's dictionaries, with an undo log."""

    def __init__(self, store: MemoryStore) -> None:
        self._s = store
        self.undo: list[Callable[[], None]] = []

    def _set(self, table: dict[str, T], key: str, value: T) -> None:
        missing = key not in table
        old = table.get(key)

        def undo() -> None:
            if missing:
                del table[key]
            else:
                table[key] = old  # type: ignore[assignment]  # present before, so a T

        self.undo.append(undo)
        table[key] = value

    def _account(self, identity: str, *, create: bool) -> AccountRow:
        row = self._s.accounts.get(identity)
        if row is None:
            row = AccountRow(identity, 0, 0, 0, 0, 0, 0.0, 0.0)
            if create:
                self._set(self._s.accounts, identity, row)
        return row

    def _window_sum(self, identity: str, window: Window) -> int:
        total = 0
        for taken, entry_id in enumerate(reversed(self._s.by_identity.get(identity, []))):
            entry = self._s.entries[entry_id - 1]
            if (window.since_ms is not None and entry.new.t_ms < window.since_ms) or (
                taken == window.last
            ):
                break  # entry times never decrease within an identity
            total += entry.hold
        return total

    def load(
        self, identity: str, authority: str | None, window: Window | None, *, lock: bool
    ) -> Loaded:
        account = self._account(identity, create=lock)
        agent = None if authority is None else self._s.authorities.get(authority)
        used = 0 if window is None or window.is_everything else self._window_sum(identity, window)
        return Loaded(account, agent, used)

    def add_reservation(self, entry: NewEntry, grant: Grant) -> int:
        entries, ids = self._s.entries, self._s.by_identity.setdefault(entry.identity, [])
        entries.append(_Entry(entry, len(entries) + 1, hold=entry.reserved))
        ids.append(len(entries))

        def undo() -> None:
            entries.pop()
            ids.pop()

        self.undo.append(undo)
        a = self._s.accounts[entry.identity]
        self._set(
            self._s.accounts,
            entry.identity,
            dataclasses.replace(
                a,
                reserved=a.reserved + entry.reserved,
                requests=a.requests + 1,
                last_t_ms=grant.t_ms,
                rq_tat=grant.rq_tat,
                tk_tat=grant.tk_tat,
            ),
        )
        if entry.authority is not None:
            self.bump_authority(entry.authority, reserved=entry.reserved)
        return len(entries)

    def load_entry(self, entry_id: int) -> EntryRow | None:
        if not 1 <= entry_id <= len(self._s.entries):
            return None
        e = self._s.entries[entry_id - 1]
        return EntryRow(
            e.id,
            e.new.identity,
            e.new.authority,
            e.status,
            e.new.reserved,
            e.cost,
            e.overage,
            e.new.tokens_est,
            e.recovered,
            e.settled_ms is not None,
            e.new.t_ms,
        )

    def close_entry(self, row: EntryRow, close: Close) -> None:
        entry = self._s.entries[row.id - 1]
        self.undo.append(lambda: self._s.entries.__setitem__(row.id - 1, entry))
        self._s.entries[row.id - 1] = dataclasses.replace(
            entry,
            status=close.status,
            cost=close.cost,
            hold=close.cost,
            overage=close.overage,
            recovered=close.recovered,
            usage=close.usage or CallUsage(),
            outcome=close.outcome,
            done_ms=close.done_ms,
        )
        a = self._s.accounts[row.identity]
        self._set(
            self._s.accounts,
            row.identity,
            dataclasses.replace(
                a,
                spent=a.spent + close.spent,
                reserved=a.reserved + close.reserved,
                tk_tat=a.tk_tat + close.tk_shift,
            ),
        )
        if row.authority is not None:
            self.bump_authority(row.authority, spent=close.spent, reserved=close.reserved)

    def bump_account(self, identity: str, *, settled: int) -> None:
        a = self._s.accounts[identity]
        self._set(self._s.accounts, identity, dataclasses.replace(a, settled=a.settled + settled))

    def bump_authority(
        self, authority: str, *, spent: int = 0, reserved: int = 0, settled: int = 0
    ) -> None:
        a = self._s.authorities[authority]
        self._set(
            self._s.authorities,
            authority,
            dataclasses.replace(
                a,
                spent=a.spent + spent,
                reserved=a.reserved + reserved,
                settled=a.settled + settled,
            ),
        )

    def authority(self, authority: str) -> AuthorityRow | None:
        return self._s.authorities.get(authority)

    def put_authority(self, limits: AuthorityLimits, now_ms: int) -> None:
        old = self._s.authorities.get(limits.authority)
        row = (
            AuthorityRow(limits, 0, 0, 0)
            if old is None
            else dataclasses.replace(old, limits=limits)
        )
        self._set(self._s.authorities, limits.authority, row)


class MemoryStore:
    """The ledger held in this process's memory."""

    name = "memory"

    def __init__(self) -> None:
        self.accounts: dict[str, AccountRow] = {}
        self.authorities: dict[str, AuthorityRow] = {}
        self.entries: list[_Entry] = []
        self.by_identity: dict[str, list[int]] = {}
        self.revocations: dict[str, tuple[str, str, int]] = {}
        self.quotes: dict[str, tuple[StoredQuote, bool]] = {}  # id → (quote, used)

    async def write(self, script: Callable[[Tx], T], *, durable: bool = True) -> T:
        """Run ``script`` at once; undo its writes if it raises."""
        await trio.lowlevel.checkpoint()
        tx = _MemoryTx(self)
        try:
            return script(tx)
        except BaseException:
            for undo in reversed(tx.undo):
                undo()
            raise

    async def read(self, script: Callable[[Tx], T]) -> T:
        """Run ``script`` at once."""
        await trio.lowlevel.checkpoint()
        return script(_MemoryTx(self))

    def _matching(self, q: UsageQuery) -> list[_Entry]:
        def keep(e: _Entry) -> bool:
            n = e.new
            return (
                e.status != "open"
                and (q.identity is None or n.identity == q.identity)
                and (q.subject is None or n.subject == q.subject)
                and (q.provider is None or e.usage.provider == q.provider)
                and (q.kind is None or n.kind == q.kind)
                and (q.since_ms is None or n.t_ms >= q.since_ms)
                and (q.until_ms is None or n.t_ms < q.until_ms)
                and (q.before is None or e.id < q.before)
            )

        return [e for e in reversed(self.entries) if keep(e)]

    async def expired(self, now_ms: int, limit: int) -> list[int]:
        """Ids of open entries whose deadline is before ``now_ms``."""
        await trio.lowlevel.checkpoint()
        late = [e for e in self.entries if e.status == "open" and e.new.deadline_ms < now_ms]
        return [e.id for e in sorted(late, key=lambda e: e.new.deadline_ms)[:limit]]

    async def next_deadline(self) -> int | None:
        """The earliest deadline of an open entry (unix ms), or None."""
        await trio.lowlevel.checkpoint()
        return min((e.new.deadline_ms for e in self.entries if e.status == "open"), default=None)

    async def usage(self, query: UsageQuery, limit: int) -> list[UsageRecord]:
        """Finished entries matching ``query``, newest first."""
        await trio.lowlevel.checkpoint()
        return [e.record() for e in self._matching(query)[:limit]]

    async def summary(self, query: UsageQuery, group_by: GroupBy) -> list[SummaryRow]:
        """Totals of finished entries matching ``query`` per group."""
        await trio.lowlevel.checkpoint()
        groups: dict[str, list[int]] = {}
        for e in self._matching(query):
            t = e.usage.tokens
            key = {
                "model": e.new.subject,
                "provider": e.usage.provider,
                "kind": e.new.kind,
                "day": day_key(e.new.t_ms // 86_400_000),
            }[group_by]
            sums = groups.setdefault(key, [0] * 6)
            for i, v in enumerate((1, e.cost, t.prompt, t.completion, t.cached, t.reasoning)):
                sums[i] += v
        rows = [SummaryRow(k, *v) for k, v in groups.items()]
        if group_by == "day":
            return sorted(rows, key=lambda r: r.key)
        return sorted(rows, key=lambda r: (-r.cost, r.key))

    async def check_rows(self) -> CheckRows:
        """Every account, authority and entry (entries in id order); no buckets."""
        await trio.lowlevel.checkpoint()
        rows = [
            CheckRow(
                e.id,
                e.new.identity,
                e.new.authority,
                e.status,
                e.new.reserved,
                e.cost,
                e.hold,
                e.new.t_ms,
                e.new.deadline_ms,
                e.new.b_limit,
                e.new.b_since_ms,
                e.new.b_rounds,
                e.new.b_seconds,
                e.new.cap_tx,
                e.new.cap_total,
                e.settled_ms is not None,
            )
            for e in self.entries
        ]
        return CheckRows(list(self.accounts.values()), list(self.authorities.values()), rows, None)

    async def unsettled(self, authority: str | None, limit: int) -> list[UnsettledCharge]:
        """Charges under an authority not yet settled, oldest first."""
        await trio.lowlevel.checkpoint()
        out = [
            UnsettledCharge(e.id, e.new.authority, e.new.identity, e.cost, e.new.t_ms / 1000)
            for e in self.entries
            if e.status == "charged"
            and e.settled_ms is None
            and e.cost > 0
            and e.new.authority is not None
            and (authority is None or e.new.authority == authority)
        ]
        return out[:limit]

    async def mark_settled(self, ids: Sequence[int], tx_id: str, now_ms: int) -> int:
        """Mark these unsettled charges settled by ``tx_id``; the µUSD newly settled."""
        await trio.lowlevel.checkpoint()
        tx, total = _MemoryTx(self), 0
        for entry_id in sorted(set(ids)):
            if not 1 <= entry_id <= len(self.entries):
                continue
            e = self.entries[entry_id - 1]
            if e.status != "charged" or e.settled_ms is not None or e.new.authority is None:
                continue
            e.settled_ms, e.settle_tx = now_ms, tx_id
            tx.bump_account(e.new.identity, settled=e.cost)
            tx.bump_authority(e.new.authority, settled=e.cost)
            total += e.cost
        return total

    async def is_revoked(self, key: str) -> bool:
        """Whether ``key`` was revoked."""
        await trio.lowlevel.checkpoint()
        return key in self.revocations

    async def revoke(self, key: str, issuer: str, reason: str, now_ms: int) -> None:
        """Record a revocation (idempotent)."""
        await trio.lowlevel.checkpoint()
        self.revocations.setdefault(key, (issuer, reason, now_ms))

    async def put_quote(self, quote: StoredQuote) -> None:
        """Keep a new quote (and drop those that expired over a day before it)."""
        await trio.lowlevel.checkpoint()
        horizon = quote.expires_ms - KEEP_AFTER_EXPIRY_MS
        for key in [k for k, (q, _) in self.quotes.items() if q.expires_ms < horizon]:
            del self.quotes[key]
        self.quotes[quote.id] = (quote, False)

    async def take_quote(
        self, quote_id: str, identity: str, now_ms: int
    ) -> tuple[QuoteOutcome, StoredQuote | None]:
        """Mark a quote used and return it, if it is ``identity``'s, unused and unexpired."""
        await trio.lowlevel.checkpoint()
        found = self.quotes.get(quote_id)
        if found is None:
            return "unknown", None
        quote, used = found
        if quote.identity != identity:
            return "other_identity", None
        if used:
            return "used", None
        if now_ms >= quote.expires_ms:
            return "expired", None
        self.quotes[quote_id] = (quote, True)
        return "ok", quote

    async def aclose(self) -> None:
        """Nothing to release."""
        await trio.lowlevel.checkpoint()
