"""The ledger's read views and bookkeeping statements over SQL (SQLite and Postgres alike)."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.ledger._sqltx import (
    ACCOUNTS,
    AUTHORITIES,
    BUMP_AUTHORITY,
    Row,
    SqlTx,
    account_row,
    authority_row,
)
from gateway.ledger._store import CheckRow, CheckRows, UsageQuery
from gateway.ledger._views import GroupBy, SummaryRow, UnsettledCharge, UsageRecord, day_key

__all__ = [
    "check_rows",
    "expired",
    "is_revoked",
    "mark_settled",
    "next_deadline",
    "revoke",
    "summary",
    "unsettled",
    "usage",
]

_USAGE_COLUMNS = (
    "id, request_id, identity, authority, kind, subject, provider, status, reserved, cost, "
    "overage, prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, "
    "reasoning_tokens, latency_ms, ttft_ms, outcome, t_ms, done_ms, settle_tx"
)
_GROUP_KEYS = {"model": "subject", "provider": "provider", "kind": "kind", "day": "t_ms / 86400000"}


def _where(query: UsageQuery) -> tuple[str, list[object]]:
    clauses, args = ["status <> 'open'"], list[object]()
    for column, value in (
        ("identity", query.identity),
        ("subject", query.subject),
        ("provider", query.provider),
        ("kind", query.kind),
    ):
        if value is not None:
            clauses.append(f"{column} = ?")
            args.append(value)
    if query.since_ms is not None:
        clauses.append("t_ms >= ?")
        args.append(query.since_ms)
    if query.until_ms is not None:
        clauses.append("t_ms < ?")
        args.append(query.until_ms)
    if query.before is not None:
        clauses.append("id < ?")
        args.append(query.before)
    return " AND ".join(clauses), args


def _record(row: Row) -> UsageRecord:
    done = None if row[20] is None else row[20] / 1000
    return UsageRecord(*[*row[:19], row[19] / 1000, done, row[21]])


def usage(sql: SqlTx, query: UsageQuery, limit: int) -> list[UsageRecord]:
    """Finished entries matching ``query``, newest first."""
    where, args = _where(query)
    rows = sql.all(
        f"SELECT {_USAGE_COLUMNS} FROM ledger_entries WHERE {where} ORDER BY id DESC LIMIT ?",
        *args,
        limit,
    )
    return [_record(row) for row in rows]


def summary(sql: SqlTx, query: UsageQuery, group_by: GroupBy) -> list[SummaryRow]:
    """Totals of finished entries matching ``query`` per group."""
    key = _GROUP_KEYS[group_by]
    where, args = _where(query)
    sums = ", ".join(
        f"CAST(SUM({c}) AS BIGINT)"
        for c in ("cost", "prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens")
    )
    rows = sql.all(
        f"SELECT {key} AS k, COUNT(*), {sums} FROM ledger_entries WHERE {where} GROUP BY k",
        *args,
    )
    out = [
        SummaryRow(day_key(int(r[0])) if group_by == "day" else str(r[0]), *map(int, r[1:]))
        for r in rows
    ]
    if group_by == "day":
        return sorted(out, key=lambda r: r.key)
    return sorted(out, key=lambda r: (-r.cost, r.key))


def check_rows(sql: SqlTx) -> CheckRows:
    """Every account, authority, entry (in id order) and window bucket."""
    accounts = [account_row(r) for r in sql.all(ACCOUNTS)]
    authorities = [authority_row(r) for r in sql.all(AUTHORITIES)]
    rows = sql.all(
        "SELECT id, identity, authority, status, reserved, cost, hold, t_ms, deadline_ms, "
        "b_limit, b_since_ms, b_rounds, b_seconds, cap_tx, cap_total, settled_ms "
        "FROM ledger_entries ORDER BY id"
    )
    entries = [CheckRow(*[*r[:15], r[15] is not None]) for r in rows]
    buckets = sql.all("SELECT identity, level, start_ms, hold FROM ledger_buckets")
    return CheckRows(accounts, authorities, entries, [(b[0], b[1], b[2], b[3]) for b in buckets])


def expired(sql: SqlTx, now_ms: int, limit: int) -> list[int]:
    """Ids of open entries whose deadline is before ``now_ms``, oldest first."""
    rows = sql.all(
        "SELECT id FROM ledger_entries WHERE status = 'open' AND deadline_ms < ? "
        "ORDER BY deadline_ms LIMIT ?",
        now_ms,
        limit,
    )
    return [int(r[0]) for r in rows]


def next_deadline(sql: SqlTx) -> int | None:
    """The earliest deadline of an open entry (unix ms), or None."""
    row = sql.one("SELECT MIN(deadline_ms) FROM ledger_entries WHERE status = 'open'")
    return None if row is None or row[0] is None else int(row[0])


def unsettled(sql: SqlTx, authority: str | None, limit: int) -> list[UnsettledCharge]:
    """Charges under an authority not yet settled, oldest first."""
    where = "status = 'charged' AND settled_ms IS NULL AND cost > 0 AND authority IS NOT NULL"
    args: list[object] = []
    if authority is not None:
        where += " AND authority = ?"
        args.append(authority)
    rows = sql.all(
        f"SELECT id, authority, identity, cost, t_ms FROM ledger_entries WHERE {where} "
        "ORDER BY id LIMIT ?",
        *args,
        limit,
    )
    return [UnsettledCharge(r[0], r[1], r[2], r[3], r[4] / 1000) for r in rows]


def mark_settled(tx: SqlTx, ids: Sequence[int], tx_id: str, now_ms: int) -> int:
    """Mark unsettled charges settled by ``tx_id``; the µUSD newly settled.

    Entries are locked first (in id order), then accounts and authorities in name order,
    keeping the ledger's one lock order.
    """
    wanted = sorted(set(ids))
    if not wanted:
        return 0
    marks = ", ".join("?" * len(wanted))
    lock = " FOR UPDATE" if tx.postgres else ""
    rows = tx.all(
        f"SELECT id, identity, authority, cost FROM ledger_entries WHERE id IN ({marks}) AND "
        f"status = 'charged' AND settled_ms IS NULL AND authority IS NOT NULL ORDER BY id{lock}",
        *wanted,
    )
    if not rows:
        return 0
    found = [r[0] for r in rows]
    tx.run(
        f"UPDATE ledger_entries SET settled_ms = ?, settle_tx = ? "
        f"WHERE id IN ({', '.join('?' * len(found))})",
        now_ms,
        tx_id,
        *found,
    )
    by_identity: dict[str, int] = {}
    by_authority: dict[str, int] = {}
    for _, identity, authority, cost in rows:
        by_identity[identity] = by_identity.get(identity, 0) + cost
        by_authority[authority] = by_authority.get(authority, 0) + cost
    for identity in sorted(by_identity):
        tx.run(
            "UPDATE ledger_accounts SET settled = settled + ? WHERE identity = ?",
            by_identity[identity],
            identity,
        )
    for authority in sorted(by_authority):
        tx.run(BUMP_AUTHORITY, 0, 0, by_authority[authority], authority)
    return sum(by_authority.values())


def is_revoked(sql: SqlTx, key: str) -> bool:
    """Whether ``key`` was revoked (one primary-key lookup)."""
    return sql.one("SELECT 1 FROM ledger_revocations WHERE key = ?", key) is not None


def revoke(sql: SqlTx, key: str, issuer: str, reason: str, now_ms: int) -> None:
    """Record a revocation; a second one of the same key keeps the first."""
    sql.run(
        "INSERT INTO ledger_revocations (key, issuer, reason, at_ms) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (key) DO NOTHING",
        key,
        issuer,
        reason,
        now_ms,
    )
