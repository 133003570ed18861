"""A routing decision, explained: every candidate in rank order and why others were left out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.core import Offer, Prices
from gateway.providers import Endpoint
from gateway.routing._health import HealthView

__all__ = ["Candidate", "Decision", "Exclusion", "Policy"]


@dataclass(frozen=True, slots=True)
class Policy:
    """The effective provider policy of one request (request over per-model settings)."""

    order: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    allow_fallbacks: bool = True
    sort: str | None = None
    max_prompt_price: int | None = None  # µUSD per 1M tokens
    max_completion_price: int | None = None

    @property
    def filters(self) -> bool:
        """Whether the policy leaves any provider out by itself."""
        return bool(
            self.ignore
            or self.only
            or self.max_prompt_price is not None
            or self.max_completion_price is not None
        )

    def to_dict(self) -> dict[str, Any]:
        """The policy as JSON-ready data."""
        return {
            "order": list(self.order),
            "only": list(self.only),
            "ignore": list(self.ignore),
            "allow_fallbacks": self.allow_fallbacks,
            "sort": self.sort or "default",
            "max_price_micro_usd_per_mtok": {
                "prompt": self.max_prompt_price,
                "completion": self.max_completion_price,
            },
        }


@dataclass(frozen=True, slots=True)
class Candidate:
    """One provider that may serve the call, with what the router knew when ranking it."""

    offer: Offer
    endpoint: Endpoint
    expected_cost_micro_usd: int
    max_output_tokens: int | None
    health: HealthView
    score: float

    @property
    def provider(self) -> str:
        """The provider id."""
        return self.offer.provider

    @property
    def prices(self) -> Prices:
        """Unit prices in µUSD per 1M tokens."""
        return self.offer.prices

    def reasons(self, policy: Policy, cheapest: int) -> list[str]:
        """Why the candidate sits where it does, in words."""
        out: list[str] = []
        if self.provider in policy.order:
            out.append(
                f"pinned by the request's order (position {policy.order.index(self.provider) + 1})"
            )
        if self.expected_cost_micro_usd == cheapest:
            out.append("lowest expected cost")
        if policy.sort:
            out.append(f"sorted by {policy.sort}")
        if self.endpoint.simulated:
            out.append("simulated provider (ranked after real ones)")
        health = self.health
        if health.state == "half_open":
            out.append("circuit breaker half-open: on probation after failures")
        if health.error_rate >= 0.01:
            out.append(f"recent error rate {health.error_rate:.0%}")
        if health.ttft_seconds is None:
            out.append("no latency observed yet")
        return out

    def to_dict(self, rank: int, policy: Policy, cheapest: int) -> dict[str, Any]:
        """The candidate as JSON-ready data."""
        return {
            "rank": rank,
            "provider": self.endpoint.label,
            "provider_id": self.provider,
            "simulated": self.endpoint.simulated,
            "protocol": self.endpoint.protocol,
            "provider_model_id": self.offer.provider_model_id,
            "prices_micro_usd_per_mtok": self.prices.to_dict(),
            "expected_cost_micro_usd": self.expected_cost_micro_usd,
            "max_output_tokens": self.max_output_tokens,
            "health": self.health.to_dict(),
            "score": round(self.score, 3),
            "reasons": self.reasons(policy, cheapest),
        }


@dataclass(frozen=True, slots=True)
class Exclusion:
    """A provider of the model that will not be tried, and why."""

    provider: str
    reason: str
    code: str  # no_credentials | disabled | ignored | not_in_only | not_in_order | max_price |
    # breaker_open | unsupported | fallbacks_disabled

    def to_dict(self) -> dict[str, str]:
        """The exclusion as JSON-ready data."""
        return {"provider": self.provider, "code": self.code, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Decision:
    """Which providers a call goes to, in order, and why."""

    model: str
    requested: str
    policy: Policy
    prompt_tokens: int
    expected_output_tokens: int
    candidates: tuple[Candidate, ...]
    excluded: tuple[Exclusion, ...] = field(default_factory=tuple)

    @property
    def chosen(self) -> Candidate | None:
        """The first candidate, if any."""
        return self.candidates[0] if self.candidates else None

    def to_dict(self) -> dict[str, Any]:
        """The machine-readable explanation (``GET /v1/route``, ``bitrouter route --json``)."""
        chosen = self.chosen
        cheapest = min((c.expected_cost_micro_usd for c in self.candidates), default=0)
        return {
            "object": "route",
            "model": self.model,
            "requested": self.requested,
            "chosen": None if chosen is None else chosen.endpoint.label,
            "simulated": None if chosen is None else chosen.endpoint.simulated,
            "policy": self.policy.to_dict(),
            "prompt_tokens_estimate": self.prompt_tokens,
            "expected_output_tokens": self.expected_output_tokens,
            "candidates": [
                c.to_dict(i + 1, self.policy, cheapest) for i, c in enumerate(self.candidates)
            ],
            "excluded": [e.to_dict() for e in self.excluded],
        }
