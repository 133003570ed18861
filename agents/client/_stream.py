"""Streamed chat completions: text deltas as they arrive, then the usage and cost.

Iterating a stream to its end (or leaving its ``with`` block) closes the connection; the
gateway charges what was delivered either way.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from types import TracebackType
from typing import Any, cast

import httpx

from agents.client._chat_results import ChatResult, TokenUsage, chat_card
from agents.client._errors import BitRouterError
from agents.client._http import DONE, sse_data
from agents.client._parse import mapping

__all__ = ["AsyncChatStream", "ChatStream"]


class _State:
    """What the events of one stream said so far."""

    def __init__(self, response: httpx.Response) -> None:
        self.provider: str = response.headers.get("x-bitrouter-provider", "")
        self.request_id = response.headers.get("x-request-id")
        self.model = ""
        self.parts: list[str] = []
        self.usage: TokenUsage | None = None
        self.finish_reason: str | None = None
        self.error: str | None = None
        self.done = False
        self.last: dict[str, Any] = {}

    def take(self, line: str) -> str | None:
        """The text a line adds (None for lines that add none)."""
        event = sse_data(line)
        if event is DONE:
            # Reading goes on to the end of the body, which follows at once: an exhausted
            # line iterator leaves no half-read generators behind.
            return None
        if not isinstance(event, dict):
            return None
        self.last = event
        self.model = str(event.get("model") or self.model)
        self.provider = str(event.get("provider") or self.provider)
        if event.get("usage"):
            self.usage = TokenUsage.from_json(event["usage"])
        if isinstance(event.get("error"), dict):
            self.error = str(event["error"].get("message") or "the stream was cut off")
        delta_text = ""
        for choice in event.get("choices") or ():
            choice = mapping(choice)
            self.finish_reason = choice.get("finish_reason") or self.finish_reason
            content = mapping(choice.get("delta")).get("content")
            if isinstance(content, str):
                delta_text += content
        if delta_text:
            self.parts.append(delta_text)
            return delta_text
        return None

    def result(self) -> ChatResult:
        return ChatResult(
            text="".join(self.parts),
            model=self.model,
            provider=self.provider,
            usage=self.usage or TokenUsage(),
            finish_reason=self.finish_reason,
            simulated=self.provider.endswith("(simulated)"),
            request_id=self.request_id,
            raw=self.last,
        )

    def html(self) -> str:
        if not self.done:
            return f"<em>streaming from {self.provider or 'the gateway'}…</em>"
        return chat_card(
            "".join(self.parts), self.model, self.provider, self.usage, self.finish_reason
        )


class _StreamView:
    """The read-only view both stream kinds share."""

    _state: _State

    @property
    def text(self) -> str:
        """The text received so far."""
        return "".join(self._state.parts)

    @property
    def provider(self) -> str:
        """The provider serving the stream."""
        return self._state.provider

    @property
    def model(self) -> str:
        """The model id as the gateway resolved it."""
        return self._state.model

    @property
    def usage(self) -> TokenUsage | None:
        """Tokens and cost, known once the final chunk arrived."""
        return self._state.usage

    @property
    def cost_micro_usd(self) -> int | None:
        """What the call was charged (µUSD), known once the final chunk arrived."""
        return None if self._state.usage is None else self._state.usage.cost_micro_usd

    @property
    def finish_reason(self) -> str | None:
        """Why the reply ended (``length`` when a limit cut it)."""
        return self._state.finish_reason

    @property
    def error(self) -> str | None:
        """Why the gateway cut the stream off, if it did."""
        return self._state.error

    @property
    def done(self) -> bool:
        """Whether the stream has ended."""
        return self._state.done

    def _repr_html_(self) -> str:
        return self._state.html()


class ChatStream(_StreamView, Iterator[str]):
    """A streamed chat completion: iterate it for the text deltas; ``usage`` and
    ``cost_micro_usd`` are known at the end, and :meth:`result` gives the whole reply."""

    def __init__(self, response: httpx.Response, base_url: str) -> None:
        self._response = response
        self._state = _State(response)
        self._lines = cast(Generator[str, None, None], response.iter_lines())
        self._base_url = base_url

    def __next__(self) -> str:
        while not self._state.done:
            try:
                line = next(self._lines)
            except StopIteration:
                break
            except httpx.TransportError as exc:
                self.close()
                raise BitRouterError(
                    f"the stream from {self._base_url} broke ({type(exc).__name__})"
                ) from None
            delta = self._state.take(line)
            if delta:
                return delta
        self.close()
        raise StopIteration

    def result(self) -> ChatResult:
        """The whole reply (reading the rest of the stream first)."""
        for _ in self:
            pass
        return self._state.result()

    def close(self) -> None:
        """Stop reading and close the connection (the gateway charges what was sent)."""
        self._state.done = True
        self._lines.close()
        self._response.close()

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncChatStream(_StreamView, AsyncIterator[str]):
    """The async twin of :class:`ChatStream`: ``async for delta in stream``."""

    def __init__(self, response: httpx.Response, base_url: str) -> None:
        self._response = response
        self._state = _State(response)
        self._lines = cast(AsyncGenerator[str, None], response.aiter_lines())
        self._base_url = base_url

    async def __anext__(self) -> str:
        while not self._state.done:
            try:
                line = await anext(self._lines)
            except StopAsyncIteration:
                break
            except httpx.TransportError as exc:
                await self.aclose()
                raise BitRouterError(
                    f"the stream from {self._base_url} broke ({type(exc).__name__})"
                ) from None
            delta = self._state.take(line)
            if delta:
                return delta
        await self.aclose()
        raise StopAsyncIteration

    async def result(self) -> ChatResult:
        """The whole reply (reading the rest of the stream first)."""
        async for _ in self:
            pass
        return self._state.result()

    async def aclose(self) -> None:
        """Stop reading and close the connection (the gateway charges what was sent)."""
        self._state.done = True
        await self._lines.aclose()
        await self._response.aclose()

    async def __aenter__(self) -> AsyncChatStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
