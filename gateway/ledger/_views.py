"""What the ledger reports: usage rows, summaries, balances, headroom and the invariant check."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Literal

__all__ = [
    "AuthorityStatus",
    "Balance",
    "BudgetStatus",
    "CheckReport",
    "GroupBy",
    "Headroom",
    "RecoveryReport",
    "SummaryRow",
    "UnsettledCharge",
    "UsagePage",
    "UsageRecord",
    "day_key",
]

GroupBy = Literal["model", "provider", "day", "kind"]


def day_key(day_number: int) -> str:
    """A UTC day number (days since 1970-01-01) as ``YYYY-MM-DD``."""
    return datetime.fromtimestamp(day_number * 86_400, UTC).strftime("%Y-%m-%d")


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One call as the ledger holds it (``subject`` is the model id, tool name or agent name;
    ``overage`` is what its caller asked beyond the reservation, not charged)."""

    id: int
    request_id: str
    identity: str
    authority: str | None
    kind: str
    subject: str
    provider: str
    status: str
    reserved: int
    cost: int
    overage: int
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    latency_ms: int | None
    ttft_ms: int | None
    outcome: str
    created_at: float
    finished_at: float | None
    settle_tx: str | None

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready mapping."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class UsagePage:
    """A page of usage, newest first; pass ``next_before`` as ``before`` for the next page."""

    items: tuple[UsageRecord, ...]
    next_before: int | None


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """Totals of finished calls for one group (a model, a provider, a UTC day or a kind)."""

    key: str
    requests: int
    cost: int
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    reasoning_tokens: int

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready mapping."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Headroom:
    """The most that could be reserved right now (None: no limit applies) and which limit binds."""

    amount: int | None
    limited_by: str | None


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """The token budget: its limit, what its window already holds, and what is left."""

    limit: int
    scope: str
    range: str | None
    used: int
    remaining: int


@dataclass(frozen=True, slots=True)
class AuthorityStatus:
    """An agent's spending authority with what the ledger holds against it."""

    authority: str
    per_tx_cap: int | None
    cumulative_cap: int | None
    expires_at: int | None
    revoked: bool
    spent: int
    reserved: int
    settled: int
    remaining: int | None


@dataclass(frozen=True, slots=True)
class Balance:
    """Money of one principal: totals, the token budget, the authority and the headroom."""

    identity: str
    spent: int
    reserved: int
    settled: int
    requests: int
    budget: BudgetStatus | None
    authority: AuthorityStatus | None
    remaining: int | None
    limited_by: str | None
    expires_at: int | None

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready mapping."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class UnsettledCharge:
    """A charge under an authority that no settlement has paid yet."""

    id: int
    authority: str
    identity: str
    cost: int
    created_at: float


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    """What recovering expired reservations did: how many, and the µUSD they were charged."""

    resolved: int
    charged: int


@dataclass(frozen=True, slots=True)
class CheckReport:
    """The ledger's invariants: ``ok`` unless ``breaches`` names one that does not hold."""

    ok: bool
    breaches: tuple[str, ...]
    warnings: tuple[str, ...]
    identities: int
    authorities: int
    entries: int
    open_reservations: int
    spent: int
    reserved: int

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready mapping."""
        return asdict(self)
