"""What the dashboard reads from the gateway's routes (tolerant: unknown fields are ignored)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Authority",
    "Balance",
    "Health",
    "Summary",
    "SummaryRow",
    "Transaction",
    "Transactions",
    "UsagePage",
    "UsageRecord",
    "WalletBalance",
]

Moment = int | float | str | None  # unix seconds or an ISO 8601 text


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Health(_Wire):
    """``GET /health``."""

    status: str
    version: str = ""
    mode: str = ""
    listen: str = ""
    models: int = 0
    simulator: str | None = None


class Authority(_Wire):
    """An agent's on-chain spending authority (µUSD amounts)."""

    chain: str
    agent: str
    per_tx_cap: int
    cumulative_cap: int
    paid: int
    remaining: int
    expires_at: Moment = None
    revoked: bool = False


class WalletBalance(_Wire):
    """A wallet's USDC on one chain."""

    chain: str
    address: str
    usdc_micro_usd: int | None = None


class Balance(_Wire):
    """``GET /v1/balance``: the caller's spending, limits, authorities and wallets."""

    identity: str = ""
    spent_micro_usd: int = 0
    reserved_micro_usd: int = 0
    settled_micro_usd: int | None = None
    remaining_micro_usd: int | None = None
    requests: int | None = None
    limits: dict[str, Any] = Field(default_factory=dict)
    expires_at: Moment = None
    authority: Authority | None = None
    agents: list[Authority] = Field(default_factory=list)
    wallets: list[WalletBalance] = Field(default_factory=list)


class UsageRecord(_Wire):
    """One metered request."""

    request_id: str
    created_at: Moment = None
    kind: str = ""
    subject: str = ""
    provider: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_micro_usd: int = 0
    latency_ms: float | None = None
    outcome: str = ""


class UsagePage(_Wire):
    """``GET /v1/usage``."""

    data: list[UsageRecord] = Field(default_factory=list)
    has_more: bool = False


class SummaryRow(_Wire):
    """One group of ``/v1/usage/summary``."""

    key: str
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_micro_usd: int = 0


class Summary(_Wire):
    """``GET /v1/usage/summary``."""

    group_by: str = "model"
    data: list[SummaryRow] = Field(default_factory=list)
    total_cost_micro_usd: int = 0


class Transaction(_Wire):
    """An on-chain settlement."""

    chain: str
    tx_id: str
    amount_micro_usd: int
    agent: str = ""
    created_at: Moment = None
    status: str = ""


class Transactions(_Wire):
    """``GET /v1/transactions``."""

    data: list[Transaction] = Field(default_factory=list)
