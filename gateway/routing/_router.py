"""Choosing providers for a model: candidates, the caller's preferences, and the default ranking.

Candidates are the offers of the model whose provider is routable (it has credentials, or the
simulator serves it). The request's ``provider`` object (over the model's policy in settings)
filters them (``only``, ``ignore``, ``max_price``) and may pin an ``order``. The rest are
ranked: real providers before simulated ones, then by ``sort`` when given (``price``: expected
cost; ``latency``: time to first token; ``throughput``: tokens per second), else by the default
score, the expected cost made worse by the observed error rate and time to first token::

    score = (expected_cost + 1) * (1 + 4 * error_rate) * (1 + ttft_seconds / 10)

A half-open provider (its breaker cooled down) ranks after the closed ones; an open one is left
out. The expected cost is the estimated prompt plus the expected output (the request's limit,
else 500 tokens) at the offer's prices.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.core import Catalog, ModelEntry, Offer, TokenCounts, cost_micro_usd, usd
from gateway.core.catalog import normalize_model_id
from gateway.errors import NotFound
from gateway.openai_wire import ChatRequest, ProviderPreferences
from gateway.providers import Endpoint, Endpoints
from gateway.routing._decision import Candidate, Decision, Exclusion, Policy
from gateway.routing._health import HealthBoard
from gateway.settings import Settings

__all__ = ["DEFAULT_EXPECTED_OUTPUT", "Router"]

DEFAULT_EXPECTED_OUTPUT = 500
_ERROR_WEIGHT = 4.0
_LATENCY_SCALE = 10.0
_PRIOR_TTFT = 1.0  # seconds, for providers not yet observed
_POLICY_FIELDS = ("order", "only", "ignore", "allow_fallbacks", "sort")
_ROUTE_CACHE = 4096


@dataclass(frozen=True, slots=True)
class _Routes:
    """A model's offers split once into routable ones and those without an endpoint."""

    model: ModelEntry
    routable: tuple[tuple[int, Offer, Endpoint, int | None], ...]
    missing: tuple[Exclusion, ...]


class Router:
    """Resolves model ids and ranks the providers that serve them."""

    def __init__(
        self, catalog: Catalog, settings: Settings, endpoints: Endpoints, health: HealthBoard
    ) -> None:
        self.catalog = catalog
        self.endpoints = endpoints
        self.health = health
        routing = settings.routing
        self._aliases = {normalize_model_id(k): v for k, v in routing.aliases.items()}
        self._policies: Mapping[str, Any] = {
            normalize_model_id(k): v for k, v in routing.models.items()
        }
        self._base_policy: dict[str, Policy] = {}
        self._routes: dict[str, _Routes] = {}  # by the id as requested (bounded)

    def resolve(self, model: str) -> ModelEntry:
        """The catalog entry of ``model`` (either id form, or an alias from settings).

        Raises:
            NotFound: no such model.
        """
        target = self._aliases.get(normalize_model_id(model), model)
        entry = self.catalog.get(target)
        if entry is None:
            raise NotFound(f"unknown model '{model}'", code="model_not_found", param="model")
        return entry

    def canonical(self, model: str) -> str:
        """The canonical id of ``model`` (aliases applied), or its normalized form if unknown."""
        target = self._aliases.get(normalize_model_id(model), model)
        entry = self.catalog.get(target)
        return entry.id if entry is not None else normalize_model_id(target)

    def policy(self, model: str, prefs: ProviderPreferences | None) -> Policy:
        """The effective policy: the request's fields over the model's policy in settings."""
        base = self._base_policy.get(model)
        if base is None:
            configured = self._policies.get(model)
            base = (
                Policy()
                if configured is None
                else Policy(
                    tuple(configured.order),
                    tuple(configured.only),
                    tuple(configured.ignore),
                    configured.allow_fallbacks,
                    configured.sort,
                )
            )
            self._base_policy[model] = base
        if prefs is None:
            return base
        given = prefs.model_fields_set
        values: dict[str, Any] = {}
        for name in _POLICY_FIELDS:
            value = getattr(prefs, name) if name in given else getattr(base, name)
            values[name] = tuple(value) if isinstance(value, list) else value
        cap = prefs.max_price
        return Policy(
            **values,
            max_prompt_price=usd(cap.prompt) if cap and cap.prompt is not None else None,
            max_completion_price=(
                usd(cap.completion) if cap and cap.completion is not None else None
            ),
        )

    def _routes_for(self, requested: str) -> _Routes:
        routes = self._routes.get(requested)
        if routes is not None:
            return routes
        model = self.resolve(requested)
        routable: list[tuple[int, Offer, Endpoint, int | None]] = []
        missing: list[Exclusion] = []
        for index, offer in enumerate(model.offers):
            endpoint = self.endpoints.get(offer.provider)
            if endpoint is None:
                note = self.endpoints.status(offer.provider).note
                missing.append(Exclusion(offer.provider, note, "no_credentials"))
            else:
                limit = offer.max_output_tokens or model.max_output_tokens
                routable.append((index, offer, endpoint, limit))
        routes = _Routes(model, tuple(routable), tuple(missing))
        if len(self._routes) < _ROUTE_CACHE:  # ids come from callers: keep the cache bounded
            self._routes[requested] = routes
        return routes

    def _excluded(
        self, offer: Offer, endpoint: Endpoint, policy: Policy, needs_n: bool
    ) -> Exclusion | None:
        provider = offer.provider
        if provider in policy.ignore:
            return Exclusion(provider, "ignored by the request", "ignored")
        if policy.only and provider not in policy.only:
            return Exclusion(provider, "not in the request's 'only' list", "not_in_only")
        if policy.max_prompt_price is not None and offer.prices.input > policy.max_prompt_price:
            return Exclusion(provider, "prompt price above max_price", "max_price")
        if (
            policy.max_completion_price is not None
            and offer.prices.output > policy.max_completion_price
        ):
            return Exclusion(provider, "completion price above max_price", "max_price")
        if needs_n and endpoint.protocol != "openai":
            return Exclusion(
                provider,
                f"n > 1 is not supported by the {endpoint.protocol} protocol",
                "unsupported",
            )
        return None

    def decide(
        self,
        requested: str,
        request: ChatRequest | None = None,
        *,
        prompt_tokens: int = 0,
        expected_output_tokens: int | None = None,
    ) -> Decision:
        """Every candidate for the request in rank order, and every exclusion with its reason.

        Raises:
            NotFound: the model is unknown.
        """
        routes = self._routes_for(requested)
        model = routes.model
        policy = self.policy(model.id, request.provider if request is not None else None)
        output = (
            expected_output_tokens
            or (request.output_limit if request is not None else None)
            or DEFAULT_EXPECTED_OUTPUT
        )
        needs_n = request is not None and (request.n or 1) > 1
        filtering = needs_n or policy.filters
        expected = TokenCounts(prompt=prompt_tokens, completion=output)
        ranked: list[tuple[tuple[Any, ...], Candidate]] = []
        excluded: list[Exclusion] = list(routes.missing)
        for index, offer, endpoint, limit in routes.routable:
            if filtering:
                exclusion = self._excluded(offer, endpoint, policy, needs_n)
                if exclusion is not None:
                    excluded.append(exclusion)
                    continue
            health = self.health.view(offer.provider)
            if health.state == "open":
                excluded.append(
                    Exclusion(
                        offer.provider,
                        f"circuit breaker open (retry in {health.retry_in_seconds:g}s)",
                        "breaker_open",
                    )
                )
                continue
            cost = cost_micro_usd(offer.prices, expected)
            ttft = health.ttft_seconds if health.ttft_seconds is not None else _PRIOR_TTFT
            score = (
                (cost + 1) * (1 + _ERROR_WEIGHT * health.error_rate) * (1 + ttft / _LATENCY_SCALE)
            )
            candidate = Candidate(offer, endpoint, cost, limit, health, score)
            ranked.append((_key(policy, candidate, index), candidate))
        if len(ranked) > 1:
            ranked.sort(key=lambda pair: pair[0])
        candidates, dropped = _apply_order(policy, [c for _, c in ranked])
        if dropped:
            excluded.extend(dropped)
        return Decision(
            model=model.id,
            requested=requested,
            policy=policy,
            prompt_tokens=prompt_tokens,
            expected_output_tokens=output,
            candidates=tuple(candidates),
            excluded=tuple(excluded),
        )


def _key(policy: Policy, candidate: Candidate, index: int) -> tuple[Any, ...]:
    health = candidate.health
    probation = health.state == "half_open"
    if policy.sort == "price":
        primary: float = candidate.expected_cost_micro_usd
    elif policy.sort == "latency":
        primary = health.ttft_seconds if health.ttft_seconds is not None else _PRIOR_TTFT
    elif policy.sort == "throughput":
        primary = -(health.throughput_tps or 0.0)
    else:
        primary = 0.0
    return (candidate.endpoint.simulated, probation, primary, candidate.score, index)


def _apply_order(
    policy: Policy, ranked: list[Candidate]
) -> tuple[list[Candidate], list[Exclusion]]:
    if policy.order:
        position = {p: i for i, p in enumerate(policy.order)}
        pinned = sorted(
            (c for c in ranked if c.provider in position), key=lambda c: position[c.provider]
        )
        rest = [c for c in ranked if c.provider not in position]
    else:
        pinned, rest = ranked[:1], ranked[1:]
    if policy.allow_fallbacks:
        return pinned + rest, []
    dropped = [
        Exclusion(c.provider, "fallbacks disabled by the request", "fallbacks_disabled")
        for c in rest
    ]
    return pinned, dropped
