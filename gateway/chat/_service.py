"""The chat service: one ``POST /v1/chat/completions`` from model id to charged response.

resolve and route (or take the quote's provider) → reserve the worst-case cost → call with
failover → charge the actual cost (never more than the hold) → hand the usage record to the
ledger. Responses are plain dicts for orjson; streams are :class:`ChatStream` iterators.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import trio

from gateway.chat._call import ChatCall
from gateway.chat._plan import Planner
from gateway.chat._principal import ChatPrincipal
from gateway.chat._spending import SpendGuard
from gateway.chat._stream import ChatStream
from gateway.core import TokenCounts
from gateway.core.catalog import Protocol as WireFamily
from gateway.errors import GatewayError
from gateway.openai_wire import ChatRequest, usage_body
from gateway.providers import Completion, Endpoints, ProviderStatus, Upstream, UpstreamCall
from gateway.quotes import Quote, QuoteService, count_prompt, estimate_prompt_tokens
from gateway.routing import Candidate, Decision, Router, call_with_failover
from gateway.tokenizer import count_text_tokens, family_scale

__all__ = ["ChatService"]


def _output_text(body: dict[str, Any]) -> str:
    texts: list[str] = []
    for choice in body.get("choices") or ():
        message = choice.get("message") or {}
        for key in ("content", "reasoning_content"):
            if isinstance(message.get(key), str):
                texts.append(message[key])
        for call in message.get("tool_calls") or ():
            function = call.get("function") or {}
            texts.append(f"{function.get('name', '')}{function.get('arguments', '')}")
    return "".join(texts)


class ChatService:
    """Chat completions, quotes and route explanations for the faces."""

    def __init__(
        self,
        router: Router,
        upstreams: Mapping[WireFamily, Upstream],
        spend: SpendGuard,
        quotes: QuoteService,
        *,
        max_attempts: int = 3,
        clock: Callable[[], float] = trio.current_time,
    ) -> None:
        self.router = router
        self.quotes = quotes
        self._upstreams = upstreams
        self._spend = spend
        self._planner = Planner(router, spend, quotes, max_attempts)
        self._max_attempts = max_attempts
        self._clock = clock

    @property
    def endpoints(self) -> Endpoints:
        """Every provider's endpoint and status."""
        return self.router.endpoints

    def provider_status(self, provider: str) -> ProviderStatus:
        """Whether ``provider`` is routable, simulated, and why (for model listings)."""
        return self.router.endpoints.status(provider)

    def route_explain(self, model: str, request: ChatRequest | None = None) -> Decision:
        """The routing decision for ``model`` (and a request's preferences), explained.

        Raises:
            NotFound: unknown model.
        """
        prompt = 0
        if request is not None:
            prompt = estimate_prompt_tokens(request.raw["messages"], request.raw.get("tools"))
        return self.router.decide(model, request, prompt_tokens=prompt)

    async def quote(self, principal: ChatPrincipal, request: ChatRequest) -> Quote:
        """A binding quote for ``request`` (the model is checked against the principal first)."""
        principal.check_model(self.router.canonical(request.model))
        headroom = None
        if request.output_limit is None:
            headroom = await self._spend.headroom(principal)
        return await self.quotes.create(principal.identity, request, headroom)

    async def _open(
        self,
        principal: ChatPrincipal,
        request: ChatRequest,
        request_id: str,
        quote_id: str | None,
    ) -> ChatCall:
        started = self._clock()
        plan = await self._planner.plan(principal, request, quote_id)
        hold, plan = await self._planner.reserve(principal, plan, request_id)
        return ChatCall(principal, request_id, plan, hold, self._spend, self._clock, started)

    def _upstream_call(
        self, call: ChatCall, request: ChatRequest, candidate: Candidate
    ) -> UpstreamCall:
        return UpstreamCall(
            candidate.endpoint,
            candidate.offer.provider_model_id,
            request,
            call.plan.limit_for(candidate),
            call.request_id,
        )

    async def complete(
        self,
        principal: ChatPrincipal,
        request: ChatRequest,
        *,
        request_id: str,
        quote_id: str | None = None,
    ) -> dict[str, Any]:
        """The OpenAI ``chat.completion`` for ``request``, with ``usage.cost_micro_usd``.

        Raises:
            NotFound, Forbidden, BadRequest, QuoteInvalid, SpendingError, UpstreamError (502),
            UpstreamUnavailable (503), UpstreamTimeout (504).
        """
        call = await self._open(principal, request, request_id, quote_id)
        outcome = "cancelled"
        try:
            try:
                completion, candidate = await call_with_failover(
                    call.plan.decision,
                    lambda c: self._upstreams[c.endpoint.protocol].complete(
                        self._upstream_call(call, request, c)
                    ),
                    self.router.health,
                    max_attempts=self._max_attempts,
                    clock=self._clock,
                    candidates=call.plan.candidates,
                    attempts=call.attempts,
                )
            except GatewayError:
                outcome = "failed"
                raise
            call.candidate = candidate
            call.ttft = self._clock() - call.started
            tokens, estimated = self._usage(completion, call, request)
            cost = await call.settle(tokens, "ok", estimated)
        finally:
            if not call.finished:
                await call.release(outcome)
        self.router.health.throughput(candidate.provider, tokens.completion, call.ttft)
        body = completion.body
        body["model"] = call.plan.model
        body["provider"] = candidate.endpoint.label
        body["simulated"] = candidate.endpoint.simulated
        body["usage"] = usage_body(tokens, cost)
        return body

    def _usage(
        self, completion: Completion, call: ChatCall, request: ChatRequest
    ) -> tuple[TokenCounts, bool]:
        reported = completion.usage
        if reported is not None and (reported.prompt or reported.completion):
            return reported, False
        assert call.candidate is not None
        family = call.candidate.endpoint.protocol
        return TokenCounts(
            prompt=count_prompt(request, family),
            completion=count_text_tokens(_output_text(completion.body), family),
        ), True

    async def stream(
        self,
        principal: ChatPrincipal,
        request: ChatRequest,
        *,
        request_id: str,
        quote_id: str | None = None,
    ) -> ChatStream:
        """A metered stream of chunk dicts, returned once a provider sent its first event.

        The caller must ``await stream.aclose()`` when done (also after a client disconnect).

        Raises:
            The errors of :meth:`complete`, all before the first chunk.
        """
        call = await self._open(principal, request, request_id, quote_id)
        outcome = "cancelled"
        opened = False
        try:
            try:
                upstream, candidate = await call_with_failover(
                    call.plan.decision,
                    lambda c: self._upstreams[c.endpoint.protocol].open_stream(
                        self._upstream_call(call, request, c)
                    ),
                    self.router.health,
                    max_attempts=self._max_attempts,
                    clock=self._clock,
                    candidates=call.plan.candidates,
                    attempts=call.attempts,
                )
            except GatewayError:
                outcome = "failed"
                raise
            opened = True
        finally:
            if not opened:
                await call.release(outcome)
        call.candidate = candidate
        call.ttft = self._clock() - call.started
        options = request.stream_options
        return ChatStream(
            call,
            upstream,
            self.router.health,
            bool(options and options.include_usage),
            # The factor alone: the vocabulary is loaded only if the stream has to be counted.
            family_scale(candidate.endpoint.protocol),
        )
