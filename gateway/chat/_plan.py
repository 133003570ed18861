"""Planning one chat call: which providers, what output limit, how much to reserve.

Without a quote the router ranks the candidates. The output limit is the request's own; else,
when a spending limit applies, the largest output that fits the caller's headroom at the first
candidate's prices (prompt counted with the real tokenizer), capped by the model's maximum;
else none is sent (Anthropic, which requires one, gets the model's maximum). The reservation is
the worst-case cost of the prompt and that limit on the dearest candidate that may be tried;
fallbacks dearer than what the caller can hold are dropped rather than refusing the call.

With a quote the quoted provider, prices, limit and maximum apply, and only that provider is
tried. A redeeming request whose prompt differs from the quoted one is recounted, and its
output limit shrunk so that the quoted maximum still holds.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.chat._principal import ChatPrincipal
from gateway.chat._spending import Hold, SpendGuard
from gateway.core import Offer, TokenCounts, cost_micro_usd
from gateway.errors import QuoteInvalid, SpendingError, UpstreamUnavailable
from gateway.openai_wire import ChatRequest
from gateway.quotes import (
    DEFAULT_OUTPUT_LIMIT,
    Quote,
    QuoteService,
    count_prompt,
    estimate_prompt_tokens,
    largest_output,
    prompt_digest,
    worst_case_cost,
)
from gateway.routing import Candidate, Decision, Policy, Router, no_candidates_error

__all__ = ["CallPlan", "Planner"]


@dataclass(frozen=True, slots=True)
class CallPlan:
    """Everything decided before a call is forwarded."""

    decision: Decision
    candidates: tuple[Candidate, ...]
    prompt_tokens: int
    send_limit: int | None  # the output limit put on the upstream request
    reserve_limit: int  # the output tokens the reservation covers
    amount: int  # µUSD to reserve
    quote: Quote | None = None

    @property
    def model(self) -> str:
        """The canonical model id."""
        return self.decision.model

    def limit_for(self, candidate: Candidate) -> int | None:
        """The output limit to send to ``candidate``."""
        if self.send_limit is None and candidate.endpoint.protocol == "anthropic":
            return self.reserve_limit
        return self.send_limit


class Planner:
    """Turns a request (and maybe a quote) into a :class:`CallPlan` and a hold."""

    def __init__(
        self, router: Router, spend: SpendGuard, quotes: QuoteService, max_attempts: int
    ) -> None:
        self._router = router
        self._spend = spend
        self._quotes = quotes
        self._max_attempts = max_attempts

    async def plan(
        self, principal: ChatPrincipal, request: ChatRequest, quote_id: str | None
    ) -> CallPlan:
        """The plan for ``request``; checks the model against the principal first.

        Raises:
            NotFound, Forbidden, QuoteInvalid, SpendingError, BadRequest, UpstreamUnavailable.
        """
        if quote_id is not None:
            return await self._quoted(principal, request, quote_id)
        raw = request.raw
        prompt = estimate_prompt_tokens(raw["messages"], raw.get("tools"))
        decision = self._router.decide(request.model, request, prompt_tokens=prompt)
        principal.check_model(decision.model)
        if not decision.candidates:
            raise no_candidates_error(decision)
        pool = decision.candidates[: self._max_attempts]
        first = pool[0]
        limit = request.output_limit
        if limit is not None:
            costs = [worst_case_cost(c.prices, prompt, limit) for c in pool]
            return CallPlan(decision, pool, prompt, limit, limit, max(costs))
        headroom = await self._spend.headroom(principal)
        if headroom is None:
            reserve_limit = first.max_output_tokens or DEFAULT_OUTPUT_LIMIT
            costs = [worst_case_cost(c.prices, prompt, reserve_limit) for c in pool]
            return CallPlan(decision, pool, prompt, None, reserve_limit, max(costs))
        prompt = count_prompt(request, first.endpoint.protocol)
        limit = largest_output(first.prices, prompt, headroom)
        if first.max_output_tokens:
            limit = min(limit, first.max_output_tokens)
        if limit < 1:
            raise SpendingError(
                f"the {headroom} µUSD left do not cover the prompt of {prompt} tokens "
                f"on {first.endpoint.label}"
            )
        affordable = tuple(c for c in pool if worst_case_cost(c.prices, prompt, limit) <= headroom)
        amount = max(worst_case_cost(c.prices, prompt, limit) for c in affordable)
        return CallPlan(decision, affordable, prompt, limit, limit, amount)

    async def _quoted(
        self, principal: ChatPrincipal, request: ChatRequest, quote_id: str
    ) -> CallPlan:
        asked = self._router.canonical(request.model)
        principal.check_model(asked)
        quote = await self._quotes.redeem(quote_id, principal.identity)
        if asked != quote.model:
            raise QuoteInvalid(f"quote {quote.id} is for {quote.model}, not {asked}", param="model")
        endpoint = self._router.endpoints.get(quote.provider)
        if endpoint is None:
            raise UpstreamUnavailable(f"the quoted provider {quote.provider} is not available")
        limit = quote.max_output_tokens
        if request.output_limit is not None:
            limit = min(limit, request.output_limit)
        prompt = quote.prompt_tokens
        if prompt_digest(request) != quote.prompt_digest:
            prompt = count_prompt(request, quote.protocol)
            limit = min(limit, largest_output(quote.prices, prompt, quote.max_cost_micro_usd))
            if limit < 1:
                raise QuoteInvalid(
                    f"the prompt is larger than the one quote {quote.id} was made for",
                    param="messages",
                )
        offer = Offer(quote.provider, quote.provider_model_id, quote.prices, limit)
        expected = cost_micro_usd(quote.prices, TokenCounts(prompt=prompt, completion=limit))
        candidate = Candidate(
            offer, endpoint, expected, limit, self._router.health.view(quote.provider), 0.0
        )
        decision = Decision(
            quote.model, request.model, Policy(only=(quote.provider,)), prompt, limit, (candidate,)
        )
        return CallPlan(
            decision, (candidate,), prompt, limit, limit, quote.max_cost_micro_usd, quote
        )

    async def reserve(
        self, principal: ChatPrincipal, plan: CallPlan, request_id: str
    ) -> tuple[Hold, CallPlan]:
        """Hold the plan's amount; if that is refused but the first candidate alone would fit,
        hold that and keep only the candidates it covers."""
        tokens = plan.prompt_tokens + plan.reserve_limit
        try:
            hold = await self._spend.reserve(
                principal,
                kind="model",
                subject=plan.model,
                amount=plan.amount,
                tokens=tokens,
                request_id=request_id,
            )
            return hold, plan
        except SpendingError:
            first = worst_case_cost(
                plan.candidates[0].prices, plan.prompt_tokens, plan.reserve_limit
            )
            if plan.quote is not None or first >= plan.amount:
                raise
        kept = tuple(
            c
            for c in plan.candidates
            if worst_case_cost(c.prices, plan.prompt_tokens, plan.reserve_limit) <= first
        )
        hold = await self._spend.reserve(
            principal,
            kind="model",
            subject=plan.model,
            amount=first,
            tokens=tokens,
            request_id=request_id,
        )
        return hold, CallPlan(
            plan.decision, kept, plan.prompt_tokens, plan.send_limit, plan.reserve_limit, first
        )
