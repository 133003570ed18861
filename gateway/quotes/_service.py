"""Making and redeeming quotes.

A quote is made for the first provider the router would choose: its unit prices, the prompt
counted with :mod:`gateway.tokenizer` (exact for OpenAI's family, a documented estimate for
the others), and the output limit — the request's own, else the largest output whose cost fits
the caller's spending headroom, capped by the model's maximum output. The quote binds the
provider and prices until it expires, whatever the catalog says later.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable

import orjson

from gateway.core import TokenCounts, cost_micro_usd
from gateway.errors import QuoteInvalid, SpendingError
from gateway.openai_wire import ChatRequest
from gateway.quotes._limits import (
    DEFAULT_OUTPUT_LIMIT,
    estimate_prompt_tokens,
    largest_output,
    worst_case_cost,
)
from gateway.quotes._quote import Quote
from gateway.quotes._store import QuoteRecord, QuoteStore, TakeOutcome
from gateway.routing import DEFAULT_EXPECTED_OUTPUT, Router, no_candidates_error
from gateway.tokenizer import TOKENIZER_NAMES, count_prompt_tokens

__all__ = ["QuoteService", "count_prompt", "prompt_digest"]

_REFUSALS: dict[TakeOutcome, str] = {
    "unknown": "quote {id} is unknown",
    "expired": "quote {id} has expired",
    "used": "quote {id} was already used",
    "other_identity": "quote {id} was issued to another identity",
}


def count_prompt(request: ChatRequest, family: str) -> int:
    """The request's prompt tokens as ``family`` counts them."""
    raw = request.raw
    return count_prompt_tokens(raw["messages"], family, raw.get("tools"))


def prompt_digest(request: ChatRequest) -> str:
    """A digest of what the prompt is made of (messages and tools), key order ignored."""
    raw = request.raw
    data = orjson.dumps([raw["messages"], raw.get("tools")], option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class QuoteService:
    """Makes quotes and redeems them exactly once."""

    def __init__(
        self,
        router: Router,
        store: QuoteStore,
        ttl_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._router = router
        self._store = store
        self._ttl = ttl_seconds
        self._clock = clock

    async def create(
        self, identity: str, request: ChatRequest, headroom: int | None = None
    ) -> Quote:
        """A quote for ``request``, bound to ``identity``.

        Args:
            headroom: µUSD the caller may still spend (None: unlimited); sets the output limit
                when the request has none.

        Raises:
            NotFound: unknown model. BadRequest / UpstreamUnavailable: no provider can serve it.
            SpendingError: the headroom does not even cover the prompt.
        """
        raw = request.raw
        estimate = estimate_prompt_tokens(raw["messages"], raw.get("tools"))
        decision = self._router.decide(request.model, request, prompt_tokens=estimate)
        chosen = decision.chosen
        if chosen is None:
            raise no_candidates_error(decision)
        family = chosen.endpoint.protocol
        prompt = count_prompt(request, family)
        prices = chosen.prices
        model_max = chosen.max_output_tokens
        limit = request.output_limit
        if limit is None:
            if headroom is None:
                limit = model_max or DEFAULT_OUTPUT_LIMIT
            else:
                limit = largest_output(prices, prompt, headroom)
                if model_max:
                    limit = min(limit, model_max)
                if limit < 1:
                    raise SpendingError(
                        f"the {headroom} µUSD left do not cover the prompt of {prompt} tokens "
                        f"on {chosen.endpoint.label}"
                    )
        elif model_max:
            limit = min(limit, model_max)
        now = self._clock()
        expected = TokenCounts(prompt=prompt, completion=min(limit, DEFAULT_EXPECTED_OUTPUT))
        quote = Quote(
            id="q_" + secrets.token_urlsafe(18),
            identity=identity,
            model=decision.model,
            provider=chosen.provider,
            provider_model_id=chosen.offer.provider_model_id,
            protocol=family,
            simulated=chosen.endpoint.simulated,
            prices=prices,
            prompt_tokens=prompt,
            max_output_tokens=limit,
            max_cost_micro_usd=worst_case_cost(prices, prompt, limit),
            estimated_cost_micro_usd=cost_micro_usd(prices, expected),
            created_at=int(now),
            expires_at=int(now) + self._ttl,
            tokenizer=TOKENIZER_NAMES.get(family, family),
            prompt_digest=prompt_digest(request),
        )
        await self._store.put(QuoteRecord(quote.id, identity, quote.to_json(), quote.expires_at))
        return quote

    async def redeem(self, quote_id: str, identity: str) -> Quote:
        """The quote, now used up.

        Raises:
            QuoteInvalid: unknown, expired, already used, or issued to another identity.
        """
        outcome, record = await self._store.take(quote_id, identity, self._clock())
        if record is None:
            message = _REFUSALS.get(outcome, "quote {id} cannot be used").format(id=quote_id)
            raise QuoteInvalid(message, code=f"quote_{outcome}", param="x-bitrouter-quote")
        return Quote.from_json(record.blob)
