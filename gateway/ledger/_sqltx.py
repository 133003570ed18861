"""The ``Tx`` interface over SQL, one text for SQLite (sqlite3) and Postgres (psycopg).

Statements are written with ``?`` placeholders. A ``Db`` runs them: SQLite's one by one in
process; Postgres's several to a round trip (reads go out together, writes wait and go out with
the next read or with the ``COMMIT``). Postgres reads that lock add ``FOR UPDATE``; SQLite needs
none because its writers already hold the database's write lock (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from gateway.ledger._rules import BUCKETS, Grant, Window, bucket_start, window_split
from gateway.ledger._store import AccountRow, AuthorityRow, Close, EntryRow, Loaded, NewEntry
from gateway.ledger._types import AuthorityLimits, CallUsage

__all__ = ["ACCOUNTS", "AUTHORITIES", "Db", "Row", "SqlTx", "account_row", "authority_row"]

Row = tuple[Any, ...]
Statement = tuple[str, Sequence[object]]

ACCOUNTS = (
    "SELECT identity, spent, reserved, settled, requests, last_t_ms, rq_tat, tk_tat "
    "FROM ledger_accounts"
)
AUTHORITIES = (
    "SELECT authority, per_tx_cap, cumulative_cap, expires_at, revoked, spent, reserved, settled "
    "FROM ledger_authorities"
)
_ENTRY = (
    "SELECT id, identity, authority, status, reserved, cost, overage, tokens_est, recovered, "
    "settled_ms, t_ms FROM ledger_entries WHERE id = ?"
)
_INSERT = (
    "INSERT INTO ledger_entries (id, identity, token_key, authority, request_id, kind, subject, "
    "status, reserved, hold, tokens_est, t_ms, deadline_ms, b_limit, b_since_ms, b_rounds, "
    "b_seconds, cap_tx, cap_total) VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, ?, ?, ?, "
    "?, ?, ?) RETURNING id"
)
_FINISH = (
    "UPDATE ledger_entries SET status = ?, cost = ?, hold = ?, overage = ?, recovered = ?, "
    "provider = ?, prompt_tokens = ?, completion_tokens = ?, cached_tokens = ?, "
    "cache_write_tokens = ?, reasoning_tokens = ?, latency_ms = ?, ttft_ms = ?, outcome = ?, "
    "done_ms = ? WHERE id = ?"
)
_RESERVE_ACCOUNT = (
    "UPDATE ledger_accounts SET reserved = reserved + ?, requests = requests + 1, "
    "last_t_ms = ?, rq_tat = ?, tk_tat = ? WHERE identity = ?"
)
_CLOSE_ACCOUNT = (
    "UPDATE ledger_accounts SET spent = spent + ?, reserved = reserved + ?, tk_tat = tk_tat + ? "
    "WHERE identity = ?"
)
BUMP_AUTHORITY = (
    "UPDATE ledger_authorities SET spent = spent + ?, reserved = reserved + ?, "
    "settled = settled + ? WHERE authority = ?"
)
_PUT_AUTHORITY = (
    "INSERT INTO ledger_authorities (authority, per_tx_cap, cumulative_cap, expires_at, revoked, "
    "updated_ms) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (authority) DO UPDATE SET "
    "per_tx_cap = excluded.per_tx_cap, cumulative_cap = excluded.cumulative_cap, "
    "expires_at = excluded.expires_at, revoked = excluded.revoked, "
    "updated_ms = excluded.updated_ms"
)
_SUM_SINCE = (
    "SELECT CAST((SELECT COALESCE(SUM(hold), 0) FROM ledger_entries "
    "WHERE identity = ? AND t_ms >= ? AND t_ms < ?) + (SELECT COALESCE(SUM(hold), 0) "
    "FROM ledger_buckets WHERE identity = ? AND level = 1 AND start_ms >= ? AND start_ms < ?) "
    "+ (SELECT COALESCE(SUM(hold), 0) FROM ledger_buckets WHERE identity = ? AND level = 2 "
    "AND start_ms >= ?) AS BIGINT)"
)
_ADD_BUCKET = (
    "INSERT INTO ledger_buckets (identity, level, start_ms, hold) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (identity, level, start_ms) DO UPDATE SET hold = ledger_buckets.hold + "
    "excluded.hold"
)
_MOVE_BUCKET = (
    "UPDATE ledger_buckets SET hold = hold + ? WHERE identity = ? AND level = ? AND start_ms = ?"
)
# The newest N entries, then those in the window: the same rows as "the newest N in the
# window", because an identity's entry times never decrease with its ids, and always O(N).
_SUM_LAST = (
    "SELECT CAST(COALESCE(SUM(hold), 0) AS BIGINT) FROM (SELECT hold, t_ms FROM ledger_entries "
    "WHERE identity = ? ORDER BY id DESC LIMIT ?) AS w WHERE t_ms >= ?"
)
_BEGINNING = -(1 << 62)


class Db(Protocol):
    """Runs ``?``-placeholder statements inside one transaction (or none, for reads)."""

    postgres: bool

    def many(self, statements: Sequence[Statement]) -> list[list[Row]]:
        """Run the statements in order (one round trip where possible); each one's rows."""
        ...

    def run(self, sql: str, *args: object) -> None:
        """Run a statement whose result is not needed (it may wait for the next round trip)."""
        ...


def account_row(row: Row) -> AccountRow:
    """An ``ACCOUNTS`` row as an ``AccountRow``."""
    return AccountRow(row[0], row[1], row[2], row[3], row[4], row[5], float(row[6]), float(row[7]))


def authority_row(row: Row) -> AuthorityRow:
    """An ``AUTHORITIES`` row as an ``AuthorityRow``."""
    limits = AuthorityLimits(row[0], row[1], row[2], row[3], bool(row[4]))
    return AuthorityRow(limits, row[5], row[6], row[7])


class SqlTx:
    """The ledger's ``Tx`` (and plain statements, for the views) over one ``Db``."""

    def __init__(self, db: Db) -> None:
        self.db = db
        self.postgres = db.postgres
        self._lock = " FOR UPDATE" if db.postgres else ""
        self._next_id: int | None = None

    def all(self, sql: str, *args: object) -> list[Row]:
        """Every row of one statement."""
        return self.db.many([(sql, args)])[0]

    def one(self, sql: str, *args: object) -> Row | None:
        """The first row of one statement, or None."""
        rows = self.all(sql, *args)
        return rows[0] if rows else None

    def run(self, sql: str, *args: object) -> None:
        """A statement whose result is not needed."""
        self.db.run(sql, *args)

    def load(
        self, identity: str, authority: str | None, window: Window | None, *, lock: bool
    ) -> Loaded:
        """The rows a reservation decides on, and the window's sum, in one round trip."""
        lock_sql = self._lock if lock else ""
        statements: list[Statement] = []
        if lock:
            statements.append(
                (
                    "INSERT INTO ledger_accounts (identity) VALUES (?) "
                    "ON CONFLICT (identity) DO NOTHING",
                    (identity,),
                )
            )
        statements.append((ACCOUNTS + " WHERE identity = ?" + lock_sql, (identity,)))
        if authority is not None:
            statements.append((AUTHORITIES + " WHERE authority = ?" + lock_sql, (authority,)))
        if lock and self.postgres:
            # Taken under the account's lock, so an identity's ids grow in commit order and the
            # insert can wait for the COMMIT's round trip.
            statements.append(("SELECT nextval('ledger_entries_id_seq')", ()))
        if window is not None and not window.is_everything and window.last != 0:
            since = _BEGINNING if window.since_ms is None else window.since_ms
            if window.last is None:
                minutes, hours = window_split(since)
                args = (identity, since, minutes, identity, minutes, hours, identity, hours)
                statements.append((_SUM_SINCE, args))
            else:
                statements.append((_SUM_LAST, (identity, window.last, since)))
        results = iter(self.db.many(statements)[1 if lock else 0 :])
        rows = next(results)
        account = account_row(rows[0]) if rows else AccountRow(identity, 0, 0, 0, 0, 0, 0.0, 0.0)
        agent = None
        if authority is not None:
            rows = next(results)
            agent = authority_row(rows[0]) if rows else None
        if lock and self.postgres:
            self._next_id = int(next(results)[0][0])
        rows = next(results, [(0,)])
        return Loaded(account, agent, int(rows[0][0]))

    def add_reservation(self, entry: NewEntry, grant: Grant) -> int:
        """Write the open entry and add its hold to its account and authority; its id."""
        args = (
            self._next_id,
            entry.identity,
            entry.token_key,
            entry.authority,
            entry.request_id,
            entry.kind,
            entry.subject,
            entry.reserved,
            entry.reserved,
            entry.tokens_est,
            entry.t_ms,
            entry.deadline_ms,
            entry.b_limit,
            entry.b_since_ms,
            entry.b_rounds,
            entry.b_seconds,
            entry.cap_tx,
            entry.cap_total,
        )
        if self._next_id is not None:
            entry_id = self._next_id
            self.run(_INSERT.removesuffix(" RETURNING id"), *args)
        else:
            row = self.one(_INSERT, *args)
            assert row is not None
            entry_id = int(row[0])
        self.run(
            _RESERVE_ACCOUNT,
            entry.reserved,
            grant.t_ms,
            grant.rq_tat,
            grant.tk_tat,
            entry.identity,
        )
        for level, size in BUCKETS:
            start = bucket_start(entry.t_ms, size)
            self.run(_ADD_BUCKET, entry.identity, level, start, entry.reserved)
        if entry.authority is not None:
            self.run(BUMP_AUTHORITY, 0, entry.reserved, 0, entry.authority)
        return entry_id

    def load_entry(self, entry_id: int) -> EntryRow | None:
        """The entry, locked, or None."""
        row = self.one(_ENTRY + self._lock, entry_id)
        if row is None:
            return None
        return EntryRow(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            row[6],
            row[7],
            bool(row[8]),
            row[9] is not None,
            row[10],
        )

    def close_entry(self, row: EntryRow, close: Close) -> None:
        """Write the entry's new state and move the amounts in its account and authority."""
        use = close.usage or CallUsage()
        tokens = use.tokens
        self.run(
            _FINISH,
            close.status,
            close.cost,
            close.cost,
            close.overage,
            int(close.recovered),
            use.provider,
            tokens.prompt,
            tokens.completion,
            tokens.cached,
            tokens.cache_write,
            tokens.reasoning,
            use.latency_ms,
            use.ttft_ms,
            close.outcome,
            close.done_ms,
            row.id,
        )
        self.run(_CLOSE_ACCOUNT, close.spent, close.reserved, close.tk_shift, row.identity)
        moved = close.spent + close.reserved  # the entry's new hold minus its old one
        if moved:
            for level, size in BUCKETS:
                start = bucket_start(row.t_ms, size)
                self.run(_MOVE_BUCKET, moved, row.identity, level, start)
        if row.authority is not None:
            self.run(BUMP_AUTHORITY, close.spent, close.reserved, 0, row.authority)

    def authority(self, authority: str) -> AuthorityRow | None:
        """An authority's row (not locked), or None."""
        row = self.one(AUTHORITIES + " WHERE authority = ?", authority)
        return None if row is None else authority_row(row)

    def put_authority(self, limits: AuthorityLimits, now_ms: int) -> None:
        """Create or update an authority's limits, keeping its totals."""
        self.run(
            _PUT_AUTHORITY,
            limits.authority,
            limits.per_tx_cap,
            limits.cumulative_cap,
            limits.expires_at,
            int(limits.revoked),
            now_ms,
        )
