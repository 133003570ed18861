"""What callers hand the ledger: who pays, under which limits, for what, and what it cost.

Every amount is integer µUSD. Every time is unix seconds (float where it comes from the clock).
The token's limits arrive as plain values copied from its claims; the ledger never reads tokens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from gateway.core.money import TokenCounts

__all__ = [
    "KEEP_AFTER_EXPIRY_MS",
    "AuthorityLimits",
    "BudgetRange",
    "CallUsage",
    "Charge",
    "Kind",
    "Principal",
    "QuoteOutcome",
    "Reservation",
    "ReserveRequest",
    "StoredQuote",
    "TokenLimits",
]

Kind = Literal["model", "tool", "agent"]
_KINDS = ("model", "tool", "agent")


def _non_negative(name: str, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")


@dataclass(frozen=True, slots=True)
class BudgetRange:
    """A rolling window for a token budget: the last ``count`` seconds or requests."""

    kind: Literal["duration", "rounds"]
    count: int

    def __post_init__(self) -> None:
        if self.kind not in ("duration", "rounds"):
            raise ValueError(f"budget range kind must be 'duration' or 'rounds', got {self.kind!r}")
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1:
            raise ValueError(f"budget range count must be a positive integer, got {self.count!r}")

    @classmethod
    def parse(cls, text: str) -> BudgetRange:
        """``rounds:N`` or ``duration:S`` (an optional trailing ``s``), as the CLI writes it."""
        kind, sep, value = text.partition(":")
        value = value.removesuffix("s") if kind == "duration" else value
        if not sep or kind not in ("duration", "rounds") or not value.isdigit():
            raise ValueError(f"budget range must be rounds:N or duration:SECONDS, got {text!r}")
        return cls("duration" if kind == "duration" else "rounds", int(value))

    @classmethod
    def from_claim(cls, claim: Mapping[str, object]) -> BudgetRange:
        """The JWT ``budget_range`` claim: ``{"type": "rounds", "count": N}`` or
        ``{"type": "duration", "seconds": N}``."""
        kind = claim.get("type")
        value = claim.get("count" if kind == "rounds" else "seconds")
        if kind not in ("duration", "rounds") or not isinstance(value, int):
            raise ValueError(
                "budget_range must be {type: rounds, count} or {type: duration, seconds}"
            )
        return cls("duration" if kind == "duration" else "rounds", value)

    def __str__(self) -> str:
        return f"{self.kind}:{self.count}"


@dataclass(frozen=True, slots=True)
class TokenLimits:
    """The token's own budget, copied from its claims (``budget``, ``budget_scope``,
    ``budget_range``, ``iat``). No budget means the token adds no limit."""

    budget: int | None = None
    budget_scope: Literal["session", "account"] = "session"
    budget_range: BudgetRange | None = None
    iat: int | None = None

    def __post_init__(self) -> None:
        _non_negative("budget", self.budget)
        _non_negative("iat", self.iat)
        if self.budget_scope not in ("session", "account"):
            raise ValueError(f"budget_scope must be session or account, got {self.budget_scope!r}")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who pays for a call and every limit that applies to them.

    Args:
        identity: the token's ``iss`` (CAIP-10); budgets and rate limits are kept per identity.
        token_key: the token's ``jti`` or a hash of it; recorded with each call, never shown.
        limits: the token's budget.
        authority: CAIP-10 of the agent key whose on-chain spending authority pays, if any.
        balance: the paying wallet's USDC balance, when the caller knows it.
    """

    identity: str
    token_key: str = ""
    limits: TokenLimits = TokenLimits()
    authority: str | None = None
    balance: int | None = None

    def __post_init__(self) -> None:
        if not self.identity:
            raise ValueError("identity must not be empty")
        if self.authority == "":
            raise ValueError("authority must be None or a non-empty CAIP-10 account")
        _non_negative("balance", self.balance)


@dataclass(frozen=True, slots=True)
class ReserveRequest:
    """One call about to be forwarded: its maximum cost and what it is."""

    principal: Principal
    amount: int
    kind: Kind = "model"
    subject: str = ""
    tokens: int = 0
    request_id: str = ""

    def __post_init__(self) -> None:
        _non_negative("amount", self.amount)
        _non_negative("tokens", self.tokens)
        if self.kind not in _KINDS:
            raise ValueError(f"kind must be one of {', '.join(_KINDS)}, got {self.kind!r}")


@dataclass(frozen=True, slots=True)
class Reservation:
    """A granted reservation: ``amount`` is held against every limit until charged or released."""

    id: int
    identity: str
    authority: str | None
    amount: int
    tokens: int
    kind: Kind
    subject: str
    request_id: str
    reserved_at: float
    deadline: float


@dataclass(frozen=True, slots=True)
class CallUsage:
    """What a finished call used, as the caller measured it."""

    provider: str = ""
    tokens: TokenCounts = field(default_factory=TokenCounts)
    latency_ms: int | None = None
    ttft_ms: int | None = None
    outcome: str = "ok"


@dataclass(frozen=True, slots=True)
class Charge:
    """The outcome of charging or releasing a reservation.

    ``overage`` is what the caller asked beyond the reservation and was not charged (a charge is
    clamped to its reservation). ``changed`` is False when the reservation was already finished
    and this call left it as it was.
    """

    reservation_id: int
    status: Literal["charged", "released"]
    cost: int
    released: int
    overage: int
    changed: bool


@dataclass(frozen=True, slots=True)
class AuthorityLimits:
    """An agent's spending authority as the chain states it (or as set in tests and local mode)."""

    authority: str
    per_tx_cap: int | None = None
    cumulative_cap: int | None = None
    expires_at: int | None = None
    revoked: bool = False

    def __post_init__(self) -> None:
        if not self.authority:
            raise ValueError("authority must not be empty")
        _non_negative("per_tx_cap", self.per_tx_cap)
        _non_negative("cumulative_cap", self.cumulative_cap)
        _non_negative("expires_at", self.expires_at)


QuoteOutcome = Literal["ok", "unknown", "expired", "used", "other_identity"]
# How long an expired quote is kept, so that redeeming it says "expired" rather than "unknown".
KEEP_AFTER_EXPIRY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class StoredQuote:
    """A price quote as the ledger keeps it: id, owner, opaque bytes, expiry (unix seconds)."""

    id: str
    identity: str
    blob: bytes
    expires_at: float

    @property
    def expires_ms(self) -> int:
        """The expiry in unix milliseconds."""
        return round(self.expires_at * 1000)
