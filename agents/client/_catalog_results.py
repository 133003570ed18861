"""Models, routing decisions and quotes as the client returns them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agents.client import _html
from agents.client._frames import frame
from agents.client._parse import integer, mapping, maybe_int, text, when

__all__ = [
    "ModelInfo",
    "ModelList",
    "ModelOffer",
    "Quote",
    "RouteCandidate",
    "RouteDecision",
    "RouteExclusion",
]


def _prices(value: Any) -> dict[str, int]:
    return {str(k): int(v) for k, v in mapping(value).items() if isinstance(v, int | float)}


@dataclass(frozen=True, slots=True)
class ModelOffer:
    """One provider's offer of a model; prices in µUSD per 1M tokens."""

    provider: str
    provider_model_id: str
    routable: bool
    simulated: bool
    status: str
    prices: Mapping[str, int]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModelOffer:
        """From one entry of a model's ``providers``."""
        return cls(
            provider=text(data, "id"),
            provider_model_id=text(data, "provider_model_id"),
            routable=bool(data.get("routable")),
            simulated=bool(data.get("simulated")),
            status=text(data, "status"),
            prices=_prices(data.get("prices_micro_usd_per_mtok")),
        )


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """A model of the catalog and the providers that offer it."""

    id: str
    name: str
    owned_by: str
    max_input_tokens: int | None
    max_output_tokens: int | None
    providers: tuple[ModelOffer, ...]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModelInfo:
        """From one entry of ``GET /v1/models``."""
        return cls(
            id=text(data, "id"),
            name=text(data, "name"),
            owned_by=text(data, "owned_by"),
            max_input_tokens=maybe_int(data, "max_input_tokens"),
            max_output_tokens=maybe_int(data, "max_output_tokens"),
            providers=tuple(ModelOffer.from_json(mapping(p)) for p in data.get("providers") or ()),
        )

    def cheapest(self, kind: str = "input") -> int | None:
        """The lowest ``kind`` price among routable providers (µUSD per 1M tokens)."""
        prices = [o.prices[kind] for o in self.providers if o.routable and kind in o.prices]
        return min(prices, default=None)


_OFFER_COLUMNS = (
    "model",
    "name",
    "provider",
    "provider_model_id",
    "routable",
    "simulated",
    "input_price",
    "output_price",
    "cache_read_price",
    "max_input_tokens",
    "max_output_tokens",
)


@dataclass(frozen=True, slots=True)
class ModelList:
    """The models a gateway routes (iterate it, or ``get(id)``); prices in µUSD per 1M tokens."""

    models: tuple[ModelInfo, ...]

    def __len__(self) -> int:
        return len(self.models)

    def __iter__(self) -> Iterator[ModelInfo]:
        return iter(self.models)

    @classmethod
    def from_json_list(cls, data: Any) -> ModelList:
        """From the body of ``GET /v1/models``."""
        return cls(tuple(ModelInfo.from_json(mapping(m)) for m in mapping(data).get("data") or ()))

    def get(self, model_id: str) -> ModelInfo | None:
        """The model with this id (``vendor:model`` and ``vendor/model`` alike), or None."""
        wanted = model_id.replace(":", "/", 1)
        return next((m for m in self.models if m.id.replace(":", "/", 1) == wanted), None)

    def to_pandas(self) -> Any:
        """One row per (model, provider) offer."""
        rows = [
            (
                m.id,
                m.name,
                o.provider,
                o.provider_model_id,
                o.routable,
                o.simulated,
                o.prices.get("input"),
                o.prices.get("output"),
                o.prices.get("cache_read"),
                m.max_input_tokens,
                m.max_output_tokens,
            )
            for m in self.models
            for o in m.providers
        ]
        return frame(_OFFER_COLUMNS, rows)

    def _repr_html_(self) -> str:
        rows = [
            (m.id, m.name, len(m.providers), m.cheapest("input"), m.cheapest("output"))
            for m in self.models
        ]
        columns = ("model", "name", "providers", "input from", "output from")
        title = f"{len(self.models):,} models (prices: µUSD per 1M tokens)"
        return _html.block(_html.table(columns, rows, title=title, max_rows=25))


@dataclass(frozen=True, slots=True)
class Quote:
    """A binding price: the most the call may cost, at the quoted provider's unit prices.

    Pass it to ``chat(..., quote=q)`` to make the call at these prices.
    """

    id: str
    model: str
    provider: str
    simulated: bool
    prices: Mapping[str, int]
    input_tokens: int
    max_output_tokens: int
    max_cost_micro_usd: int
    estimated_cost_micro_usd: int
    expires_at: datetime | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Quote:
        """From the body of ``POST /v1/quotes``."""
        return cls(
            id=text(data, "id"),
            model=text(data, "model"),
            provider=text(data, "provider"),
            simulated=bool(data.get("simulated")),
            prices=_prices(data.get("prices_micro_usd_per_mtok")),
            input_tokens=integer(data, "input_tokens"),
            max_output_tokens=integer(data, "max_output_tokens"),
            max_cost_micro_usd=integer(data, "max_cost_micro_usd"),
            estimated_cost_micro_usd=integer(data, "estimated_cost_micro_usd"),
            expires_at=when(data.get("expires_at")),
            raw=data,
        )

    def _repr_html_(self) -> str:
        pairs: list[tuple[str, Any]] = [
            ("model", self.model),
            ("provider", self.provider),
            ("input tokens", self.input_tokens),
            ("max output tokens", self.max_output_tokens),
            ("input price (µUSD/Mtok)", self.prices.get("input")),
            ("output price (µUSD/Mtok)", self.prices.get("output")),
            ("estimated cost (µUSD)", self.estimated_cost_micro_usd),
            ("max cost (µUSD)", self.max_cost_micro_usd),
            ("max cost (USD)", _html.usd(self.max_cost_micro_usd)),
            ("expires at (UTC)", self.expires_at),
        ]
        return _html.block(_html.fields(pairs, title=f"Quote {self.id}"))


@dataclass(frozen=True, slots=True)
class RouteCandidate:
    """A provider the router would try, in rank order, with why it sits there.

    ``provider`` is the label callers see (``chutes (simulated)``), ``provider_id`` the id to
    use in a request's ``provider`` preferences (``chutes``).
    """

    rank: int
    provider: str
    provider_id: str
    simulated: bool
    prices: Mapping[str, int]
    expected_cost_micro_usd: int
    breaker: str
    error_rate: float
    ttft_ms: int | None
    calls: int
    score: float
    reasons: tuple[str, ...]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RouteCandidate:
        """From one of ``GET /v1/route``'s candidates."""
        health = mapping(data.get("health"))
        rate = health.get("error_rate")
        score = data.get("score")
        return cls(
            rank=integer(data, "rank"),
            provider=text(data, "provider"),
            provider_id=text(data, "provider_id") or text(data, "provider"),
            simulated=bool(data.get("simulated")),
            prices=_prices(data.get("prices_micro_usd_per_mtok")),
            expected_cost_micro_usd=integer(data, "expected_cost_micro_usd"),
            breaker=text(health, "breaker", "closed"),
            error_rate=float(rate) if isinstance(rate, int | float) else 0.0,
            ttft_ms=maybe_int(health, "ttft_ms"),
            calls=integer(health, "calls"),
            score=float(score) if isinstance(score, int | float) else 0.0,
            reasons=tuple(str(r) for r in data.get("reasons") or ()),
        )


@dataclass(frozen=True, slots=True)
class RouteExclusion:
    """A provider of the model that will not be tried, and why."""

    provider: str
    code: str
    reason: str


_CANDIDATE_COLUMNS = (
    "rank",
    "provider",
    "input_price",
    "output_price",
    "expected_cost_micro_usd",
    "ttft_ms",
    "error_rate",
    "breaker",
    "reasons",
)


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """Where a model's calls go: the ranked candidates and why, and who is left out."""

    model: str
    requested: str
    chosen: str | None
    candidates: tuple[RouteCandidate, ...]
    excluded: tuple[RouteExclusion, ...]
    expected_output_tokens: int
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RouteDecision:
        """From the body of ``GET /v1/route``."""
        return cls(
            model=text(data, "model"),
            requested=text(data, "requested"),
            chosen=data.get("chosen"),
            candidates=tuple(
                RouteCandidate.from_json(mapping(c)) for c in data.get("candidates") or ()
            ),
            excluded=tuple(
                RouteExclusion(text(e, "provider"), text(e, "code"), text(e, "reason"))
                for e in map(mapping, data.get("excluded") or ())
            ),
            expected_output_tokens=integer(data, "expected_output_tokens"),
            raw=data,
        )

    def _rows(self) -> list[tuple[Any, ...]]:
        return [
            (
                c.rank,
                c.provider,
                c.prices.get("input"),
                c.prices.get("output"),
                c.expected_cost_micro_usd,
                c.ttft_ms,
                c.error_rate,
                c.breaker,
                "; ".join(c.reasons),
            )
            for c in self.candidates
        ]

    def to_pandas(self) -> Any:
        """One row per candidate, in rank order."""
        return frame(_CANDIDATE_COLUMNS, self._rows())

    def _repr_html_(self) -> str:
        title = f"{self.model} → {self.chosen or 'no provider'}"
        columns = (
            "#",
            "provider",
            "input µUSD/Mtok",
            "output µUSD/Mtok",
            "expected µUSD",
            "TTFT ms",
            "error rate",
            "breaker",
            "why",
        )
        chart = _html.bars(
            [(c.provider, c.expected_cost_micro_usd) for c in self.candidates],
            title=f"expected cost of a call ({self.expected_output_tokens:,} output tokens)",
            highlight=self.chosen,
        )
        left_out = ""
        if self.excluded:
            left_out = _html.table(
                ("provider", "why not"),
                [(e.provider, e.reason) for e in self.excluded],
                title="left out",
            )
        return _html.block(_html.table(columns, self._rows(), title=title), chart, left_out)
