"""The ledger's tables, as numbered migrations for SQLite and PostgreSQL.

Migrations run at start-up inside one transaction that excludes every other migrator (SQLite's
``BEGIN IMMEDIATE``; a transaction-scoped advisory lock in Postgres), so two processes starting
at once apply each migration exactly once. Applied versions are rows of ``ledger_schema``.

One table, ``ledger_entries``, holds every reservation from the moment it is granted to its
charge or release; ``hold`` is what it counts against limits now (its reservation while open,
its cost after). ``ledger_accounts`` and ``ledger_authorities`` keep running totals of those
entries, and are the rows every write locks. ``ledger_buckets`` total the holds of each
identity's entries per minute and per hour (for budget windows); they change only under the
identity's lock. ``ledger_quotes`` (version 2) keeps price quotes until they expire, so that a
quote made by one process is redeemed at most once by any process sharing the database.
"""

from __future__ import annotations

__all__ = ["MIGRATIONS", "migration_sql"]

_V1 = """
CREATE TABLE ledger_accounts (
    identity TEXT PRIMARY KEY,
    spent BIGINT NOT NULL DEFAULT 0,
    reserved BIGINT NOT NULL DEFAULT 0,
    settled BIGINT NOT NULL DEFAULT 0,
    requests BIGINT NOT NULL DEFAULT 0,
    last_t_ms BIGINT NOT NULL DEFAULT 0,
    rq_tat {real} NOT NULL DEFAULT 0,
    tk_tat {real} NOT NULL DEFAULT 0
);
CREATE TABLE ledger_authorities (
    authority TEXT PRIMARY KEY,
    per_tx_cap BIGINT,
    cumulative_cap BIGINT,
    expires_at BIGINT,
    revoked SMALLINT NOT NULL DEFAULT 0,
    spent BIGINT NOT NULL DEFAULT 0,
    reserved BIGINT NOT NULL DEFAULT 0,
    settled BIGINT NOT NULL DEFAULT 0,
    updated_ms BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE ledger_entries (
    id {serial},
    identity TEXT NOT NULL,
    token_key TEXT NOT NULL DEFAULT '',
    authority TEXT,
    request_id TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL,
    subject TEXT NOT NULL DEFAULT '',
    provider TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    reserved BIGINT NOT NULL,
    cost BIGINT NOT NULL DEFAULT 0,
    hold BIGINT NOT NULL,
    overage BIGINT NOT NULL DEFAULT 0,
    recovered SMALLINT NOT NULL DEFAULT 0,
    tokens_est BIGINT NOT NULL DEFAULT 0,
    t_ms BIGINT NOT NULL,
    deadline_ms BIGINT NOT NULL,
    done_ms BIGINT,
    prompt_tokens BIGINT NOT NULL DEFAULT 0,
    completion_tokens BIGINT NOT NULL DEFAULT 0,
    cached_tokens BIGINT NOT NULL DEFAULT 0,
    cache_write_tokens BIGINT NOT NULL DEFAULT 0,
    reasoning_tokens BIGINT NOT NULL DEFAULT 0,
    latency_ms BIGINT,
    ttft_ms BIGINT,
    outcome TEXT NOT NULL DEFAULT '',
    b_limit BIGINT,
    b_since_ms BIGINT,
    b_rounds BIGINT,
    b_seconds BIGINT,
    cap_tx BIGINT,
    cap_total BIGINT,
    settled_ms BIGINT,
    settle_tx TEXT
);
CREATE INDEX ledger_entries_identity_id ON ledger_entries (identity, id);
CREATE INDEX ledger_entries_identity_t ON ledger_entries (identity, t_ms, hold);
CREATE INDEX ledger_entries_request ON ledger_entries (request_id);
CREATE INDEX ledger_entries_open ON ledger_entries (deadline_ms) WHERE status = 'open';
CREATE INDEX ledger_entries_unsettled ON ledger_entries (authority, id)
    WHERE status = 'charged' AND settled_ms IS NULL AND cost > 0;
CREATE TABLE ledger_buckets (
    identity TEXT NOT NULL,
    level SMALLINT NOT NULL,
    start_ms BIGINT NOT NULL,
    hold BIGINT NOT NULL,
    PRIMARY KEY (identity, level, start_ms)
);
CREATE TABLE ledger_revocations (
    key TEXT PRIMARY KEY,
    issuer TEXT NOT NULL,
    reason TEXT NOT NULL,
    at_ms BIGINT NOT NULL
)
"""

_V2 = """
CREATE TABLE ledger_quotes (
    id TEXT PRIMARY KEY,
    identity TEXT NOT NULL,
    blob {blob} NOT NULL,
    expires_ms BIGINT NOT NULL,
    used_ms BIGINT
);
CREATE INDEX ledger_quotes_expiry ON ledger_quotes (expires_ms)
"""

MIGRATIONS: tuple[tuple[int, str], ...] = ((1, _V1), (2, _V2))


def migration_sql(template: str, dialect: str) -> list[str]:
    """The statements of one migration for ``dialect`` (``sqlite`` or ``postgres``)."""
    if dialect == "postgres":
        text = template.format(
            serial="BIGSERIAL PRIMARY KEY", real="DOUBLE PRECISION", blob="BYTEA"
        )
    else:
        text = template.format(serial="INTEGER PRIMARY KEY", real="REAL", blob="BLOB")
    return [part.strip() for part in text.split(";") if part.strip()]
