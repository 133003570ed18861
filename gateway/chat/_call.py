"""One chat call in flight: its plan, its hold, and how it is charged when it ends."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import trio

from gateway.chat._plan import CallPlan
from gateway.chat._principal import ChatPrincipal
from gateway.chat._spending import Hold, SpendGuard, UsageRecord
from gateway.core import Prices, TokenCounts, cost_micro_usd
from gateway.routing import Attempt, Candidate

__all__ = ["ChatCall"]

_LEDGER_GRACE_SECONDS = 10.0  # how long a cleanup waits for the ledger after a cancel


@dataclass(slots=True)
class ChatCall:
    """The state of one call from reservation to charge."""

    principal: ChatPrincipal
    request_id: str
    plan: CallPlan
    hold: Hold
    spend: SpendGuard
    clock: Callable[[], float]
    started: float
    candidate: Candidate | None = None
    attempts: list[Attempt] = field(default_factory=list)
    ttft: float | None = None
    finished: bool = False

    def prices(self) -> Prices:
        """The prices charged: the quote's when a quote was used, else the provider's."""
        if self.plan.quote is not None:
            return self.plan.quote.prices
        assert self.candidate is not None
        return self.candidate.prices

    def _record(self, tokens: TokenCounts, cost: int, outcome: str, estimated: bool) -> UsageRecord:
        candidate = self.candidate
        now = self.clock()
        quote = self.plan.quote
        return UsageRecord(
            request_id=self.request_id,
            identity=self.principal.identity,
            model=self.plan.model,
            provider=candidate.provider if candidate else "",
            simulated=candidate.endpoint.simulated if candidate else False,
            tokens=tokens,
            cost_micro_usd=cost,
            latency_ms=round((now - self.started) * 1000),
            ttft_ms=None if self.ttft is None else round(self.ttft * 1000),
            outcome=outcome,
            quote_id=quote.id if quote else None,
            attempts=tuple(f"{a.provider}:{a.outcome}" for a in self.attempts),
            estimated=estimated,
        )

    def cost(self, tokens: TokenCounts) -> int:
        """What ``tokens`` cost the caller: output past the limit sent upstream is not billed
        (the provider ignored the limit), and never more than the hold."""
        limit = self.plan.limit_for(self.candidate) if self.candidate is not None else None
        if limit is not None and tokens.completion > limit:
            tokens = replace(tokens, completion=limit, reasoning=min(tokens.reasoning, limit))
        return min(cost_micro_usd(self.prices(), tokens), self.hold.amount)

    async def settle(self, tokens: TokenCounts, outcome: str, estimated: bool = False) -> int:
        """Charge ``tokens`` (as :meth:`cost` prices them) and hand over the usage record.

        Shielded: a client that goes away while the charge is being recorded does not lose it.

        Raises:
            trio.TooSlowError: the ledger did not answer within the grace period.
        """
        cost = self.cost(tokens)
        self.finished = True
        record = self._record(tokens, cost, outcome, estimated)
        with trio.fail_after(_LEDGER_GRACE_SECONDS, shield=True):
            await self.spend.settle(self.hold, cost, record)
        return cost

    async def release(self, outcome: str) -> None:
        """Release the hold after a failure or cancel before any output (nothing charged)."""
        if self.finished:
            return
        self.finished = True
        record = self._record(TokenCounts(), 0, outcome, False) if self.attempts else None
        with trio.move_on_after(_LEDGER_GRACE_SECONDS, shield=True):
            await self.spend.cancel(self.hold, record)
