"""``settlements.db`` in the home: the settlement journal, the agents and the wallets in use.

A settlement is written here (status ``sending``, with its reference and its charges) and made
durable **before** its payment is sent, so that after a crash the gateway knows which reference
it may have used and looks it up on-chain before sending again. SQLite in WAL mode with
``synchronous=FULL``; one connection, used from a worker thread at a time.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import trio

from gateway.chains._interface import ChainFamily
from gateway.errors import ConfigError
from gateway.ledger import enable_wal, setup_lock
from gateway.onchain._types import AgentRecord, SettlementRecord, SettlementStatus

__all__ = ["SettlementStore"]

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS agents (
    authority TEXT PRIMARY KEY,
    chain TEXT NOT NULL,
    owner TEXT NOT NULL,
    agent TEXT NOT NULL,
    label TEXT,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS wallets (
    chain TEXT NOT NULL,
    owner TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (chain, owner)
);
CREATE TABLE IF NOT EXISTS settlements (
    reference TEXT PRIMARY KEY,
    chain TEXT NOT NULL,
    authority TEXT NOT NULL,
    owner TEXT NOT NULL,
    agent TEXT NOT NULL,
    payee TEXT NOT NULL,
    amount INTEGER NOT NULL,
    charge_ids TEXT NOT NULL,
    status TEXT NOT NULL,
    tx_id TEXT,
    error TEXT,
    error_code TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS settlements_by_authority ON settlements (authority, created_at);
CREATE INDEX IF NOT EXISTS settlements_by_status ON settlements (status);
"""
_SETTLEMENT_COLUMNS = (
    "reference, chain, authority, owner, agent, payee, amount, charge_ids, status, tx_id, "
    "error, error_code, created_at"
)


def _chain(value: str) -> ChainFamily:
    return "tempo" if value == "tempo" else "solana"


def _status(value: str) -> SettlementStatus:
    if value in ("sending", "paid", "recorded", "refused"):
        return value  # type: ignore[return-value]
    raise ValueError(f"unknown settlement status {value!r}")


def _settlement(row: Sequence[object]) -> SettlementRecord:
    reference, chain, authority, owner, agent, payee, amount, ids, status, tx, err, code, at = row
    return SettlementRecord(
        reference=bytes.fromhex(str(reference)),
        chain=_chain(str(chain)),
        authority=str(authority),
        owner=str(owner),
        agent=str(agent),
        payee=str(payee),
        amount=int(str(amount)),
        charge_ids=tuple(int(i) for i in json.loads(str(ids))),
        status=_status(str(status)),
        tx_id=None if tx is None else str(tx),
        error=None if err is None else str(err),
        error_code=None if code is None else str(code),
        created_at=float(str(at)),
    )


def _agent(row: Sequence[object]) -> AgentRecord:
    authority, chain, owner, agent, label, created_at = row
    return AgentRecord(
        authority=str(authority),
        chain=_chain(str(chain)),
        owner=str(owner),
        agent=str(agent),
        label=None if label is None else str(label),
        created_at=float(str(created_at)),
    )


class SettlementStore:
    """The home's settlement journal, agents and wallets (see the module docstring)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._limiter = trio.CapacityLimiter(1)

    @classmethod
    async def open(cls, path: Path) -> SettlementStore:
        """Open (creating and migrating) the database at ``path``."""

        def connect() -> sqlite3.Connection:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            with setup_lock(path):  # gateways starting together on one home: one at a time
                conn = sqlite3.connect(
                    path, check_same_thread=False, isolation_level=None, timeout=10
                )
                enable_wal(conn)
                conn.execute("PRAGMA synchronous=FULL")
                # One write transaction taken at once (BEGIN IMMEDIATE waits for the lock): in
                # autocommit each CREATE would read, then upgrade to a write, which SQLite
                # refuses at once while another connection (a settling process) reads.
                conn.executescript(f"BEGIN IMMEDIATE;{_SCHEMA}COMMIT;")
                return conn

        try:
            return cls(await trio.to_thread.run_sync(connect))
        except sqlite3.Error as exc:
            raise ConfigError(f"{path}: cannot open the settlement database ({exc})") from None

    async def aclose(self) -> None:
        """Close the connection."""
        with trio.CancelScope(shield=True):
            await trio.to_thread.run_sync(self._conn.close, limiter=self._limiter)

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await trio.to_thread.run_sync(lambda: work(self._conn), limiter=self._limiter)

    async def _write(self, sql: str, *args: object) -> None:
        def run(conn: sqlite3.Connection) -> None:
            with conn:  # one transaction, committed (and fsynced) before this returns
                conn.execute(sql, args)

        await self._run(run)

    async def _rows(self, sql: str, *args: object) -> list[tuple[object, ...]]:
        return await self._run(lambda conn: list(conn.execute(sql, args).fetchall()))

    # -- agents and wallets ---------------------------------------------------------------

    async def remember_agent(self, record: AgentRecord) -> None:
        """Record (or update) where an agent's authority lives; a known label is kept."""
        await self._write(
            "INSERT INTO agents (authority, chain, owner, agent, label, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (authority) DO UPDATE SET "
            "chain = excluded.chain, owner = excluded.owner, agent = excluded.agent, "
            "label = COALESCE(excluded.label, agents.label)",
            record.authority,
            record.chain,
            record.owner,
            record.agent,
            record.label,
            record.created_at,
        )

    async def agent(self, authority: str) -> AgentRecord | None:
        """The agent recorded under ``authority``, if any."""
        rows = await self._rows(
            "SELECT authority, chain, owner, agent, label, created_at FROM agents "
            "WHERE authority = ?",
            authority,
        )
        return _agent(rows[0]) if rows else None

    async def agents(self) -> list[AgentRecord]:
        """Every recorded agent, oldest first."""
        rows = await self._rows(
            "SELECT authority, chain, owner, agent, label, created_at FROM agents "
            "ORDER BY created_at, authority"
        )
        return [_agent(row) for row in rows]

    async def remember_wallet(self, chain: ChainFamily, owner: str, at: float) -> None:
        """Record that ``owner`` has a wallet on ``chain`` (its first time is kept)."""
        await self._write(
            "INSERT INTO wallets (chain, owner, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (chain, owner) DO NOTHING",
            chain,
            owner,
            at,
        )

    async def wallet_chains(self, owner_addresses: Sequence[str]) -> set[ChainFamily]:
        """The chains on which any of these owner addresses has a wallet or an agent."""
        marks = ", ".join("?" * len(owner_addresses)) or "NULL"
        rows = await self._rows(
            f"SELECT chain FROM wallets WHERE owner IN ({marks}) "
            f"UNION SELECT chain FROM agents WHERE owner IN ({marks})",
            *owner_addresses,
            *owner_addresses,
        )
        return {_chain(str(row[0])) for row in rows}

    # -- settlements ----------------------------------------------------------------------

    async def begin(self, record: SettlementRecord) -> None:
        """Write a settlement about to be sent (durable when this returns)."""
        await self._write(
            f"INSERT INTO settlements ({_SETTLEMENT_COLUMNS}, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            record.reference.hex(),
            record.chain,
            record.authority,
            record.owner,
            record.agent,
            record.payee,
            record.amount,
            json.dumps(list(record.charge_ids)),
            record.status,
            record.tx_id,
            record.error,
            record.error_code,
            record.created_at,
            record.created_at,
        )

    async def finish(
        self,
        reference: bytes,
        status: SettlementStatus,
        at: float,
        *,
        tx_id: str | None = None,
        error: str | None = None,
        error_code: str | None = None,
    ) -> None:
        """Move a settlement on (``paid``/``recorded`` with its transaction, or ``refused``)."""
        await self._write(
            "UPDATE settlements SET status = ?, tx_id = COALESCE(?, tx_id), error = ?, "
            "error_code = ?, updated_at = ? WHERE reference = ?",
            status,
            tx_id,
            error,
            error_code,
            at,
            reference.hex(),
        )

    async def unfinished(self) -> list[SettlementRecord]:
        """Settlements sent (or about to be) whose outcome is not in the ledger yet."""
        rows = await self._rows(
            f"SELECT {_SETTLEMENT_COLUMNS} FROM settlements "
            "WHERE status IN ('sending', 'paid') ORDER BY created_at"
        )
        return [_settlement(row) for row in rows]

    async def settlements(
        self, authorities: Sequence[str] | None = None, *, limit: int | None = 1000
    ) -> list[SettlementRecord]:
        """Settlements of these authorities (every one when None), newest first."""
        where, args = "", []
        if authorities is not None:
            where = f"WHERE authority IN ({', '.join('?' * len(authorities)) or 'NULL'})"
            args = list(authorities)
        rows = await self._rows(
            f"SELECT {_SETTLEMENT_COLUMNS} FROM settlements {where} "
            "ORDER BY created_at DESC, reference LIMIT ?",
            *args,
            -1 if limit is None else limit,
        )
        return [_settlement(row) for row in rows]
