"""Usage, spend summaries, balances and settlements as the client returns them (µUSD)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agents.client import _html
from agents.client._frames import frame
from agents.client._parse import integer, mapping, maybe_int, text, when

__all__ = [
    "Balance",
    "Transaction",
    "TransactionList",
    "Usage",
    "UsageGroup",
    "UsageRecord",
    "UsageSummary",
    "WalletBalance",
]

_USAGE_COLUMNS = (
    "request_id",
    "created_at",
    "kind",
    "subject",
    "provider",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "cost_micro_usd",
    "latency_ms",
    "ttft_ms",
    "outcome",
)


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One charged (or refused) request: a model call, a tool call or an agent turn."""

    request_id: str
    created_at: datetime | None
    kind: str
    subject: str
    provider: str
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    reasoning_tokens: int
    cost_micro_usd: int
    latency_ms: int | None
    ttft_ms: int | None
    outcome: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> UsageRecord:
        """From one entry of ``GET /v1/usage``."""
        return cls(
            request_id=text(data, "request_id"),
            created_at=when(data.get("created_at")),
            kind=text(data, "kind"),
            subject=text(data, "subject"),
            provider=text(data, "provider"),
            prompt_tokens=integer(data, "prompt_tokens"),
            completion_tokens=integer(data, "completion_tokens"),
            cached_tokens=integer(data, "cached_tokens"),
            reasoning_tokens=integer(data, "reasoning_tokens"),
            cost_micro_usd=integer(data, "cost_micro_usd"),
            latency_ms=maybe_int(data, "latency_ms"),
            ttft_ms=maybe_int(data, "ttft_ms"),
            outcome=text(data, "outcome"),
        )

    def row(self) -> tuple[Any, ...]:
        """The record as a table row (in the order of the usage columns)."""
        return tuple(getattr(self, name) for name in _USAGE_COLUMNS)


@dataclass(frozen=True, slots=True)
class Usage:
    """The caller's recent requests, newest first, with tokens and cost."""

    records: tuple[UsageRecord, ...]
    has_more: bool = False

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[UsageRecord]:
        return iter(self.records)

    @property
    def total_cost_micro_usd(self) -> int:
        """What these requests cost together."""
        return sum(r.cost_micro_usd for r in self.records)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Usage:
        """From the body of ``GET /v1/usage``."""
        rows = tuple(UsageRecord.from_json(mapping(r)) for r in data.get("data") or ())
        return cls(rows, bool(data.get("has_more")))

    def to_pandas(self) -> Any:
        """One row per request."""
        return frame(_USAGE_COLUMNS, [r.row() for r in self.records])

    def _repr_html_(self) -> str:
        columns = (
            "time (UTC)",
            "kind",
            "subject",
            "provider",
            "in",
            "out",
            "µUSD",
            "ms",
            "outcome",
        )
        rows = [
            (
                r.created_at,
                r.kind,
                r.subject,
                r.provider,
                r.prompt_tokens,
                r.completion_tokens,
                r.cost_micro_usd,
                r.latency_ms,
                r.outcome,
            )
            for r in self.records
        ]
        more = " (more available)" if self.has_more else ""
        total = self.total_cost_micro_usd
        title = f"{len(rows)} requests{more}, {total:,} µUSD ({_html.usd(total)})"
        return _html.block(_html.table(columns, rows, title=title))


@dataclass(frozen=True, slots=True)
class UsageGroup:
    """The requests of one model, provider or day, added up."""

    key: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_micro_usd: int


@dataclass(frozen=True, slots=True)
class UsageSummary:
    """Spend grouped by model, provider or day."""

    group_by: str
    groups: tuple[UsageGroup, ...]
    total_cost_micro_usd: int

    def __iter__(self) -> Iterator[UsageGroup]:
        return iter(self.groups)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> UsageSummary:
        """From the body of ``GET /v1/usage/summary``."""
        groups = tuple(
            UsageGroup(
                key=text(g, "key"),
                requests=integer(g, "requests"),
                prompt_tokens=integer(g, "prompt_tokens"),
                completion_tokens=integer(g, "completion_tokens"),
                cost_micro_usd=integer(g, "cost_micro_usd"),
            )
            for g in map(mapping, data.get("data") or ())
        )
        total = maybe_int(data, "total_cost_micro_usd")
        if total is None:
            total = sum(g.cost_micro_usd for g in groups)
        return cls(text(data, "group_by"), groups, total)

    def _rows(self) -> list[tuple[Any, ...]]:
        return [
            (g.key, g.requests, g.prompt_tokens, g.completion_tokens, g.cost_micro_usd)
            for g in self.groups
        ]

    def to_pandas(self) -> Any:
        """One row per group."""
        columns = (self.group_by or "key", "requests", "prompt_tokens", "completion_tokens")
        return frame((*columns, "cost_micro_usd"), self._rows())

    def _repr_html_(self) -> str:
        total = self.total_cost_micro_usd
        title = f"spend by {self.group_by}: {total:,} µUSD ({_html.usd(total)})"
        columns = (self.group_by, "requests", "prompt tokens", "completion tokens", "µUSD")
        chart = _html.bars(
            [(g.key, g.cost_micro_usd) for g in self.groups], title=f"cost by {self.group_by}"
        )
        return _html.block(_html.table(columns, self._rows(), title=title), chart)


@dataclass(frozen=True, slots=True)
class WalletBalance:
    """USDC held by one of the caller's wallets."""

    chain: str
    address: str
    usdc_micro_usd: int | None


@dataclass(frozen=True, slots=True)
class Balance:
    """What the caller spent and may still spend: limits, expiry, authority and wallets.

    ``remaining_micro_usd`` is None when nothing limits the caller; ``limited_by`` names the
    limit that binds (the token's budget, the agent's authority…).
    """

    identity: str
    spent_micro_usd: int
    reserved_micro_usd: int
    remaining_micro_usd: int | None
    limits: Mapping[str, Any]
    expires_at: datetime | None
    authority: Mapping[str, Any] | None
    wallets: tuple[WalletBalance, ...]
    budget: Mapping[str, Any] | None = None
    limited_by: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Balance:
        """From the body of ``GET /v1/balance``."""
        authority, budget = data.get("authority"), data.get("budget")
        return cls(
            identity=text(data, "identity"),
            spent_micro_usd=integer(data, "spent_micro_usd"),
            reserved_micro_usd=integer(data, "reserved_micro_usd"),
            remaining_micro_usd=maybe_int(data, "remaining_micro_usd"),
            limits=dict(mapping(data.get("limits"))),
            expires_at=when(data.get("expires_at")),
            authority=dict(authority) if isinstance(authority, Mapping) else None,
            wallets=tuple(
                WalletBalance(text(w, "chain"), text(w, "address"), maybe_int(w, "usdc_micro_usd"))
                for w in map(mapping, data.get("wallets") or ())
            ),
            budget=dict(budget) if isinstance(budget, Mapping) else None,
            limited_by=None if data.get("limited_by") is None else str(data["limited_by"]),
            raw=data,
        )

    def _repr_html_(self) -> str:
        remaining = self.remaining_micro_usd
        pairs: list[tuple[str, Any]] = [
            ("identity", self.identity),
            ("spent (µUSD)", self.spent_micro_usd),
            ("reserved (µUSD)", self.reserved_micro_usd),
            ("remaining (µUSD)", "unlimited" if remaining is None else remaining),
            ("limited by", self.limited_by),
            ("expires at (UTC)", self.expires_at),
        ]
        pairs += [(f"limit: {k}", v) for k, v in self.limits.items()]
        pairs += [(f"budget: {k}", v) for k, v in (self.budget or {}).items()]
        pairs += [(f"authority: {k}", v) for k, v in (self.authority or {}).items()]
        parts = [_html.fields(pairs, title="Balance")]
        if remaining is not None:
            spend = [("spent", self.spent_micro_usd), ("reserved", self.reserved_micro_usd)]
            parts.append(_html.bars([*spend, ("remaining", remaining)], title="spending limit"))
        if self.wallets:
            rows = [(w.chain, w.address, w.usdc_micro_usd) for w in self.wallets]
            parts.append(_html.table(("chain", "wallet", "USDC (µUSD)"), rows, title="wallets"))
        return _html.block(*parts)


@dataclass(frozen=True, slots=True)
class Transaction:
    """One on-chain settlement of the caller's charges (``status``: pending, settled or
    refused, with the chain's ``error``)."""

    chain: str
    tx_id: str | None
    amount_micro_usd: int
    agent: str | None
    created_at: datetime | None
    status: str
    charges: int = 0
    error: str | None = None


@dataclass(frozen=True, slots=True)
class TransactionList:
    """The caller's on-chain settlements, newest first."""

    transactions: tuple[Transaction, ...]

    def __len__(self) -> int:
        return len(self.transactions)

    def __iter__(self) -> Iterator[Transaction]:
        return iter(self.transactions)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TransactionList:
        """From the body of ``GET /v1/transactions``."""
        return cls(
            tuple(
                Transaction(
                    chain=text(t, "chain"),
                    tx_id=None if t.get("tx_id") is None else str(t["tx_id"]),
                    amount_micro_usd=integer(t, "amount_micro_usd"),
                    agent=t.get("agent"),
                    created_at=when(t.get("created_at")),
                    status=text(t, "status"),
                    charges=integer(t, "charges"),
                    error=None if t.get("error") is None else str(t["error"]),
                )
                for t in map(mapping, data.get("data") or ())
            )
        )

    def _rows(self) -> list[tuple[Any, ...]]:
        return [
            (t.created_at, t.chain, t.tx_id, t.amount_micro_usd, t.agent, t.status, t.error)
            for t in self.transactions
        ]

    def to_pandas(self) -> Any:
        """One row per settlement."""
        columns = ("created_at", "chain", "tx_id", "amount_micro_usd", "agent", "status")
        return frame((*columns, "error"), self._rows())

    def _repr_html_(self) -> str:
        columns = ("time (UTC)", "chain", "transaction", "µUSD", "agent", "status", "error")
        title = f"{len(self.transactions)} settlements"
        return _html.block(_html.table(columns, self._rows(), title=title))
