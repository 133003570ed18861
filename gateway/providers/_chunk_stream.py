"""OpenAI chunks from an upstream's SSE body, whichever client reads it."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

import httpx
import trio

from gateway.core import TokenCounts
from gateway.providers._sse import SseDecoder
from gateway.providers._types import UpstreamFailure
from gateway.providers._wire_client import WireError, WireTimeout

__all__ = ["SseChunkStream", "StreamTranslator", "scrub", "transport_failure"]

_SECRETISH = re.compile(
    r"(sk-[\w*\-]{4,}|Bearer\s+\S+|AIza[\w\-]{8,}|(api[_-]?key|token|key)[\"']?\s*[:=]\s*\S+)",
    re.IGNORECASE,
)
_MAX_DETAIL = 200
_DRAIN_SECONDS = 1.0


def scrub(text: str) -> str:
    """An upstream's message, shortened, with anything that looks like a key or token removed."""
    return _SECRETISH.sub("[redacted]", text.strip())[:_MAX_DETAIL]


def transport_failure(provider: str, exc: BaseException, deadline: float) -> UpstreamFailure | None:
    """The failure for a transport error or a passed deadline (None for anything else)."""
    if isinstance(exc, trio.TooSlowError | httpx.TimeoutException | WireTimeout):
        return UpstreamFailure(
            provider, "timeout", f"{provider} did not answer within {deadline:g}s"
        )
    if isinstance(exc, httpx.TransportError | WireError):
        return UpstreamFailure(
            provider, "network", f"connection to {provider} failed ({type(exc).__name__})"
        )
    return None


class StreamTranslator(Protocol):
    """Turns one family's stream events into OpenAI chunk dicts."""

    usage: TokenCounts | None
    done: bool

    def feed(self, event: str, data: bytes) -> list[dict[str, Any]]:
        """The chunks for one SSE event; raises UpstreamFailure on an error event."""
        ...

    def finish(self) -> list[dict[str, Any]]:
        """Chunks owed when the upstream closed the stream."""
        ...


class SseChunkStream:
    """A :class:`ChunkStream` over an upstream SSE body: its pieces and how to close it."""

    def __init__(
        self,
        parts: AsyncIterator[bytes],
        close: Callable[[], Awaitable[None]],
        translator: StreamTranslator,
        provider: str,
        read_timeout: float,
    ) -> None:
        self._parts = parts
        self._close = close
        self._read_timeout = read_timeout
        self._translator = translator
        self._provider = provider
        self._decoder = SseDecoder()
        self._pending: deque[dict[str, Any]] = deque()
        self._ended = False
        self._exhausted = False
        self._primed = False

    @property
    def usage(self) -> TokenCounts | None:
        """The upstream's token counts, once reported."""
        return self._translator.usage

    async def prime(self) -> None:
        """Read until the first chunk is ready, so failures before it can fail over."""
        try:
            while not self._pending and not self._ended:
                await self._pull()
        except UpstreamFailure as failure:
            # Nothing reached the client yet: an error event here is an ordinary failure.
            kind = "status" if failure.kind == "midstream" else failure.kind
            raise UpstreamFailure(
                self._provider, kind, failure.message, status=failure.upstream_status
            ) from None
        if not self._pending:
            raise UpstreamFailure(self._provider, "malformed", f"{self._provider} sent no output")
        self._primed = True

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self

    async def __anext__(self) -> dict[str, Any]:
        while not self._pending:
            if self._ended:
                raise StopAsyncIteration
            await self._pull()
        return self._pending.popleft()

    async def _pull(self) -> None:
        try:
            part = await self._parts.__anext__()
        except StopAsyncIteration:
            events = self._decoder.flush()
            self._ended = self._exhausted = True
        except (httpx.TransportError, WireError) as exc:
            self._ended = True
            failure = transport_failure(self._provider, exc, self._read_timeout)
            assert failure is not None
            kind = "midstream" if self._primed else failure.kind
            raise UpstreamFailure(self._provider, kind, failure.message) from None
        else:
            events = self._decoder.feed(part)
        translator = self._translator
        for event, data in events:
            if translator.done:
                break
            self._pending.extend(translator.feed(event, data))
        if self._ended or translator.done:
            self._pending.extend(translator.finish())
            self._ended = True

    async def aclose(self) -> None:
        """Stop reading and drop the upstream connection (kept if only its end was left)."""
        self._ended = True
        with trio.CancelScope(shield=True):
            if self._translator.done and not self._exhausted:
                await self._drain()  # only the end of the body is left: keep the connection
            await self._close()
            if not self._exhausted:
                # After the close the next read fails (or ends) at once; with httpx that
                # finishes its chain of body generators, which would otherwise be collected
                # unfinished.
                await self._drain()

    async def _drain(self) -> None:
        with trio.move_on_after(_DRAIN_SECONDS):
            try:
                while True:
                    await self._parts.__anext__()
            except StopAsyncIteration:
                pass
            except (httpx.HTTPError, httpx.StreamError, WireError):
                pass
            self._exhausted = True
