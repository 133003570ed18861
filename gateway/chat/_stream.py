"""A metered chat stream: OpenAI chunks to the caller, cost tracked chunk by chunk.

The running cost is the worst-case cost of the prompt plus the output delivered so far, in the
serving family's tokens (``gateway.tokenizer``: cl100k_base tokens times the family's scale).
While it is far from the reservation it is bounded from the output's UTF-8 length (a cl100k
token is at least one byte); once that bound could pass the reservation the output is counted,
chunk by chunk, and the family's scale applied to the running total (not to each chunk, whose
rounding would overcount). The chunk that would
pass the reservation is not delivered: the stream ends there with ``finish_reason: "length"``
and an ``error`` object saying why, and the caller pays for what was delivered.

The last chunk carries ``usage`` with ``cost_micro_usd``; with ``stream_options.include_usage``
it is a separate usage chunk with no choices, as OpenAI sends it. The charge is recorded before
that chunk is handed out. ``aclose()`` (a client that went away) cancels the upstream call and
charges what was delivered.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from fractions import Fraction
from typing import Any

from gateway.chat._call import ChatCall
from gateway.core import TokenCounts
from gateway.openai_wire import make_chunk, usage_body
from gateway.providers import ChunkStream, UpstreamFailure
from gateway.quotes import worst_case_cost
from gateway.routing import HealthBoard
from gateway.tokenizer import count_text_tokens

__all__ = ["ChatStream"]


def _delta_text(chunk: dict[str, Any]) -> str:
    choices = chunk.get("choices")
    if not choices:
        return ""
    texts: list[str] = []
    for choice in choices:
        delta = choice.get("delta")
        if not delta:
            continue
        content = delta.get("content")
        if content:
            texts.append(content)
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(reasoning, str):
            texts.append(reasoning)
        for call in delta.get("tool_calls") or ():
            function = call.get("function") or {}
            texts.append(function.get("name") or "")
            texts.append(function.get("arguments") or "")
    return texts[0] if len(texts) == 1 else "".join(texts)


class ChatStream:
    """The caller's side of a streamed chat call (an async iterator of chunk dicts)."""

    def __init__(
        self,
        call: ChatCall,
        upstream: ChunkStream,
        health: HealthBoard,
        include_usage: bool,
        scale: Fraction,
    ) -> None:
        assert call.candidate is not None
        self._call = call
        self._upstream = upstream
        self._health = health
        self._include_usage = include_usage
        self._candidate = call.candidate
        self._family = call.candidate.endpoint.protocol
        self._scale = (scale.numerator, scale.denominator)
        self._worst = call.prices()
        self._prompt = call.plan.prompt_tokens
        self._amount = call.hold.amount
        self._model = call.plan.model
        self._out: deque[dict[str, Any]] = deque()
        self._held: dict[str, Any] | None = None
        self._texts: list[str] = []
        self._bytes = 0
        self._raw: int | None = None  # cl100k tokens delivered, once counting
        self._id = f"chatcmpl-{call.request_id}"
        self._created = 0
        self._closed = False

    @property
    def provider(self) -> str:
        """The provider serving the stream, as shown to callers."""
        return self._candidate.endpoint.label

    @property
    def simulated(self) -> bool:
        """True when the simulator serves the stream."""
        return self._candidate.endpoint.simulated

    @property
    def model(self) -> str:
        """The canonical model id."""
        return self._model

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self

    async def __anext__(self) -> dict[str, Any]:
        if self._out:
            return self._out.popleft()
        if self._closed:
            raise StopAsyncIteration
        while True:
            try:
                chunk = await self._upstream.__anext__()
            except StopAsyncIteration:
                return await self._end("ok")
            except UpstreamFailure as failure:
                return await self._end("upstream_error", failure)
            if not self._created:
                self._id = chunk.get("id") or self._id
                self._created = chunk.get("created") or 0
            if not self._within_reservation(chunk):
                return await self._end("length_cut")
            chunk["model"] = self._model
            choices = chunk.get("choices")
            if choices and choices[0].get("finish_reason"):
                # Held back so that usage can ride on the last chunk with choices.
                previous, self._held = self._held, chunk
                if previous is not None:
                    return previous
                continue
            if self._held is not None:
                previous, self._held = self._held, None
                self._out.append(chunk)
                return previous
            return chunk

    def _family_tokens(self, raw: int) -> int:
        numerator, denominator = self._scale
        return -(-raw * numerator // denominator)

    def _within_reservation(self, chunk: dict[str, Any]) -> bool:
        text = _delta_text(chunk)
        if not text:
            return True
        if self._raw is None:
            self._bytes += len(text) if text.isascii() else len(text.encode("utf-8"))
            bound = self._family_tokens(self._bytes)
            if worst_case_cost(self._worst, self._prompt, bound) <= self._amount:
                self._texts.append(text)
                return True
            self._raw = count_text_tokens("".join(self._texts), "openai")
        raw = self._raw + count_text_tokens(text, "openai")
        if worst_case_cost(self._worst, self._prompt, self._family_tokens(raw)) > self._amount:
            return False
        self._raw = raw
        self._texts.append(text)
        return True

    def _usage(self, outcome: str) -> tuple[TokenCounts, bool]:
        reported = self._upstream.usage
        if outcome == "ok" and reported is not None and (reported.completion or not self._texts):
            return reported, False
        delivered = count_text_tokens("".join(self._texts), self._family) if self._texts else 0
        if reported is None:
            return TokenCounts(prompt=self._prompt, completion=delivered), True
        return TokenCounts(
            prompt=reported.prompt or self._prompt,
            completion=delivered,
            cached=reported.cached,
            cache_write=reported.cache_write,
        ), True

    def _final(self, outcome: str, failure: UpstreamFailure | None) -> dict[str, Any]:
        if outcome == "ok":
            final = self._held or make_chunk(self._id, self._created, self._model, {}, "stop")
            self._held = None
            return final
        if self._held is not None:
            self._out.append(self._held)
            self._held = None
        if outcome == "length_cut":
            final = make_chunk(self._id, self._created, self._model, {}, "length")
            final["error"] = {
                "message": "the stream was cut off: more output would pass the "
                f"{self._amount} µUSD reserved for this call",
                "type": "insufficient_quota",
                "code": "reservation_exhausted",
            }
        else:
            assert failure is not None
            final = make_chunk(self._id, self._created, self._model, {}, "error")
            final["error"] = {
                "message": failure.message,
                "type": failure.error_type,
                "code": failure.code,
            }
        return final

    async def _end(self, outcome: str, failure: UpstreamFailure | None = None) -> dict[str, Any]:
        self._closed = True
        await self._upstream.aclose()
        tokens, estimated = self._usage(outcome)
        call = self._call
        cost = await call.settle(tokens, outcome, estimated)
        if outcome == "ok" and call.ttft is not None:
            duration = call.clock() - call.started - call.ttft
            self._health.throughput(self._candidate.provider, tokens.completion, duration)
        final = self._final(outcome, failure)
        usage = usage_body(tokens, cost)
        final["provider"] = self.provider
        final["simulated"] = self.simulated
        if self._include_usage:
            self._out.append(final)
            self._out.append(
                {
                    "id": self._id,
                    "object": "chat.completion.chunk",
                    "created": self._created,
                    "model": self._model,
                    "choices": [],
                    "usage": usage,
                    "provider": self.provider,
                    "simulated": self.simulated,
                }
            )
        else:
            final["usage"] = usage
            self._out.append(final)
        return self._out.popleft()

    async def aclose(self) -> None:
        """Stop: cancel the upstream call and charge what was delivered (idempotent)."""
        if self._closed:
            return
        self._closed = True
        await self._upstream.aclose()
        tokens, estimated = self._usage("cancelled")
        await self._call.settle(tokens, "cancelled", estimated)
