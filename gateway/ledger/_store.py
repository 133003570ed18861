"""What a ledger store offers: a transaction over the three kinds of rows, and the read views.

A store runs the shared transaction scripts (``_scripts``) inside one atomic transaction that
holds the rows it touches: the memory store by never awaiting inside one, SQLite with
``BEGIN IMMEDIATE``, Postgres with row locks taken in one global order — entry rows, then the
identity's account row, then the authority row — so two transactions never wait on each other
in a cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar

from gateway.ledger._types import AuthorityLimits, CallUsage, QuoteOutcome, StoredQuote
from gateway.ledger._views import GroupBy, SummaryRow, UnsettledCharge, UsageRecord

if TYPE_CHECKING:
    from gateway.ledger._rules import Grant, Window

__all__ = [
    "AccountRow",
    "AuthorityRow",
    "CheckRow",
    "CheckRows",
    "Close",
    "EntryRow",
    "Loaded",
    "NewEntry",
    "Store",
    "Tx",
    "UsageQuery",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class AccountRow:
    """An identity's running totals and rate-limit state (GCRA theoretical arrival times)."""

    identity: str
    spent: int
    reserved: int
    settled: int
    requests: int
    last_t_ms: int
    rq_tat: float
    tk_tat: float


@dataclass(frozen=True, slots=True)
class AuthorityRow:
    """An authority's limits and what the ledger holds against them."""

    limits: AuthorityLimits
    spent: int
    reserved: int
    settled: int


@dataclass(frozen=True, slots=True)
class NewEntry:
    """A reservation about to be written, with the limits that granted it (for the check)."""

    identity: str
    token_key: str
    authority: str | None
    request_id: str
    kind: str
    subject: str
    reserved: int
    tokens_est: int
    t_ms: int
    deadline_ms: int
    b_limit: int | None
    b_since_ms: int | None
    b_rounds: int | None
    b_seconds: int | None
    cap_tx: int | None
    cap_total: int | None


@dataclass(frozen=True, slots=True)
class Loaded:
    """What a reservation (or a balance) reads: the rows, and what the budget window holds."""

    account: AccountRow
    authority: AuthorityRow | None
    window_sum: int


@dataclass(frozen=True, slots=True)
class Close:
    """An entry's new state and the amounts to move in its account and authority."""

    status: str
    cost: int
    overage: int
    recovered: bool
    usage: CallUsage | None
    outcome: str
    done_ms: int
    spent: int
    reserved: int
    tk_shift: float


@dataclass(frozen=True, slots=True)
class EntryRow:
    """The part of an entry that charging, releasing and recovering need."""

    id: int
    identity: str
    authority: str | None
    status: str
    reserved: int
    cost: int
    overage: int
    tokens_est: int
    recovered: bool
    settled: bool
    t_ms: int


@dataclass(frozen=True, slots=True)
class CheckRow:
    """The part of an entry that the invariant check replays."""

    id: int
    identity: str
    authority: str | None
    status: str
    reserved: int
    cost: int
    hold: int
    t_ms: int
    deadline_ms: int
    b_limit: int | None
    b_since_ms: int | None
    b_rounds: int | None
    b_seconds: int | None
    cap_tx: int | None
    cap_total: int | None
    settled: bool


@dataclass(frozen=True, slots=True)
class CheckRows:
    """Everything the invariant check replays. ``buckets`` are (identity, level, start_ms,
    hold) rows, None for a store that sums windows from its entries directly."""

    accounts: list[AccountRow]
    authorities: list[AuthorityRow]
    entries: list[CheckRow]
    buckets: list[tuple[str, int, int, int]] | None


@dataclass(frozen=True, slots=True)
class UsageQuery:
    """Filters of a usage listing or summary (times in unix ms, ``before`` an entry id)."""

    identity: str | None
    subject: str | None = None
    provider: str | None = None
    kind: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    before: int | None = None


class Tx(Protocol):
    """One open transaction, in a few coarse steps so that a networked store can send each
    step as one round trip. Reads that lock hold their rows until the transaction ends."""

    def load(
        self, identity: str, authority: str | None, window: Window | None, *, lock: bool
    ) -> Loaded:
        """The identity's and authority's rows, and the budget window's sum when it is not the
        identity's whole history. With ``lock``, both rows are locked and a missing account is
        created."""
        ...

    def add_reservation(self, entry: NewEntry, grant: Grant) -> int:
        """Write a new open entry and add its hold to its account and authority; its id."""
        ...

    def load_entry(self, entry_id: int) -> EntryRow | None:
        """The entry, locked, or None."""
        ...

    def close_entry(self, row: EntryRow, close: Close) -> None:
        """Write an entry's new state and move the amounts in its account and authority."""
        ...

    def authority(self, authority: str) -> AuthorityRow | None:
        """An authority's row (not locked), or None."""
        ...

    def put_authority(self, limits: AuthorityLimits, now_ms: int) -> None:
        """Create or update an authority's limits, keeping its totals."""
        ...


class Store(Protocol):
    """A ledger backend: transactions for the scripts, and the read views."""

    name: str

    async def write(self, script: Callable[[Tx], T], *, durable: bool = True) -> T:
        """Run ``script`` in one atomic write transaction (durable on return if asked)."""
        ...

    async def read(self, script: Callable[[Tx], T]) -> T:
        """Run ``script`` in a read-only transaction."""
        ...

    async def expired(self, now_ms: int, limit: int) -> list[int]:
        """Ids of open entries whose deadline is before ``now_ms``."""
        ...

    async def next_deadline(self) -> int | None:
        """The earliest deadline of an open entry (unix ms), or None."""
        ...

    async def usage(self, query: UsageQuery, limit: int) -> list[UsageRecord]:
        """Finished entries matching ``query``, newest first."""
        ...

    async def summary(self, query: UsageQuery, group_by: GroupBy) -> list[SummaryRow]:
        """Totals of finished entries matching ``query`` per group."""
        ...

    async def check_rows(self) -> CheckRows:
        """Every account, authority, entry (in id order) and window bucket."""
        ...

    async def unsettled(self, authority: str | None, limit: int) -> list[UnsettledCharge]:
        """Charges under an authority not yet settled, oldest first."""
        ...

    async def mark_settled(self, ids: Sequence[int], tx_id: str, now_ms: int) -> int:
        """Mark these unsettled charges settled by ``tx_id``; the µUSD newly settled."""
        ...

    async def is_revoked(self, key: str) -> bool:
        """Whether ``key`` was revoked."""
        ...

    async def revoke(self, key: str, issuer: str, reason: str, now_ms: int) -> None:
        """Record a revocation (idempotent)."""
        ...

    async def put_quote(self, quote: StoredQuote) -> None:
        """Keep a new quote until a day after it expires."""
        ...

    async def take_quote(
        self, quote_id: str, identity: str, now_ms: int
    ) -> tuple[QuoteOutcome, StoredQuote | None]:
        """Mark a quote used and return it, atomically, if it is ``identity``'s, unused and
        unexpired; otherwise say which of those failed."""
        ...

    async def aclose(self) -> None:
        """Release connections and threads."""
        ...
