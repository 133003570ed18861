"""The HTTP mechanics every wire family shares: send, classify failures, read SSE streams.

A family subclasses :class:`HttpUpstream` and supplies only translation: the upstream URL and
body for a call, the OpenAI response for an upstream response, and a stream translator.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import AsyncIterator
from typing import Any, Protocol

import httpx
import orjson
import trio

from gateway.core import TokenCounts
from gateway.providers._sse import SseDecoder
from gateway.providers._types import Completion, Endpoint, UpstreamCall, UpstreamFailure

__all__ = [
    "USER_AGENT",
    "HttpUpstream",
    "SseChunkStream",
    "StreamTranslator",
    "failure_from_status",
    "scrub",
]

# Statuses that say "this provider, now" rather than "this request": another provider may do.
_PROVIDER_FAULTS = frozenset({401, 403, 404, 408, 409, 425, 429})
_SECRETISH = re.compile(
    r"(sk-[\w*\-]{4,}|Bearer\s+\S+|AIza[\w\-]{8,}|(api[_-]?key|token|key)[\"']?\s*[:=]\s*\S+)",
    re.IGNORECASE,
)
_MAX_DETAIL = 200
USER_AGENT = "bitrouter/0.1"
_DRAIN_SECONDS = 1.0


def scrub(text: str) -> str:
    """An upstream's message, shortened, with anything that looks like a key or token removed."""
    return _SECRETISH.sub("[redacted]", text.strip())[:_MAX_DETAIL]


def _detail(content: bytes) -> str:
    try:
        data = orjson.loads(content)
    except orjson.JSONDecodeError:
        return ""
    error = data.get("error") if isinstance(data, dict) else None
    message = error.get("message") if isinstance(error, dict) else error
    if not isinstance(message, str):
        return ""
    return scrub(message)


def failure_from_status(provider: str, status: int, content: bytes) -> UpstreamFailure:
    """The failure for an upstream error status, its detail scrubbed of anything key-like."""
    if status in (401, 403):
        # Credential errors can echo part of the key; never repeat their text.
        return UpstreamFailure(
            provider,
            "status",
            f"{provider} refused the gateway's credentials (HTTP {status})",
            status=status,
        )
    detail = _detail(content)
    message = f"{provider} answered HTTP {status}" + (f": {detail}" if detail else "")
    request_fault = 400 <= status < 500 and status not in _PROVIDER_FAULTS
    return UpstreamFailure(provider, "status", message, status=status, request_fault=request_fault)


def _transport_failure(
    provider: str, exc: BaseException, deadline: float
) -> UpstreamFailure | None:
    if isinstance(exc, trio.TooSlowError | httpx.TimeoutException):
        return UpstreamFailure(
            provider, "timeout", f"{provider} did not answer within {deadline:g}s"
        )
    if isinstance(exc, httpx.TransportError):
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


async def _close(response: httpx.Response) -> None:
    with trio.CancelScope(shield=True):
        await response.aclose()


class SseChunkStream:
    """A :class:`ChunkStream` over an upstream SSE response."""

    def __init__(
        self,
        response: httpx.Response,
        translator: StreamTranslator,
        provider: str,
        read_timeout: float,
    ) -> None:
        self._response = response
        self._read_timeout = read_timeout
        self._parts = response.aiter_bytes()
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
        except httpx.TransportError as exc:
            self._ended = True
            failure = _transport_failure(self._provider, exc, self._read_timeout)
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
        """Stop reading and drop the upstream connection."""
        self._ended = True
        with trio.CancelScope(shield=True):
            if self._translator.done and not self._exhausted:
                await self._drain()  # only the end of the body is left: keep the connection
            await self._response.aclose()
            if not self._exhausted:
                # After the close the next read fails at once; that finishes httpx's chain of
                # body generators, which would otherwise be collected unfinished.
                await self._drain()

    async def _drain(self) -> None:
        with trio.move_on_after(_DRAIN_SECONDS):
            try:
                while True:
                    await self._parts.__anext__()
            except StopAsyncIteration:
                pass
            except (httpx.HTTPError, httpx.StreamError):
                pass
            self._exhausted = True


class HttpUpstream:
    """Calls over the shared upstream transport; subclasses translate one wire family."""

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self._transport = transport
        self._timeouts: dict[str, dict[str, float | None]] = {}
        self._prepared: dict[str, tuple[httpx.URL, httpx.Headers, Endpoint]] = {}

    # --- translation hooks -------------------------------------------------------------------

    def build(self, call: UpstreamCall, stream: bool) -> tuple[str, bytes]:
        """The upstream URL and JSON body for ``call``."""
        raise NotImplementedError

    def parse(self, data: dict[str, Any], call: UpstreamCall) -> Completion:
        """The OpenAI response for the upstream's JSON response."""
        raise NotImplementedError

    def translator(self, call: UpstreamCall) -> StreamTranslator:
        """A fresh stream translator for ``call``."""
        raise NotImplementedError

    # --- mechanics -----------------------------------------------------------------------------

    def _request(self, call: UpstreamCall, stream: bool) -> httpx.Request:
        # URLs, headers and timeouts are prepared once per provider and URL, not per call, and
        # the body goes in as a ready stream (so httpx does not re-encode or re-scan headers).
        endpoint = call.endpoint
        url, body = self.build(call, stream)
        prepared = self._prepared.get(url)
        if prepared is None or prepared[2] is not endpoint:
            parsed = httpx.URL(url)
            headers = httpx.Headers(
                {
                    "host": parsed.netloc.decode("ascii"),
                    "user-agent": USER_AGENT,
                    **endpoint.headers,
                }
            )
            prepared = self._prepared[url] = (parsed, headers, endpoint)
        headers = httpx.Headers(prepared[1])
        headers["content-length"] = str(len(body))
        timeout = self._timeouts.get(endpoint.provider)
        if timeout is None:
            timeout = self._timeouts[endpoint.provider] = httpx.Timeout(
                endpoint.timeout, connect=endpoint.connect_timeout, pool=endpoint.connect_timeout
            ).as_dict()
        return httpx.Request(
            "POST",
            prepared[0],
            headers=headers,
            stream=httpx.ByteStream(body),
            extensions={"timeout": timeout},
        )

    async def complete(self, call: UpstreamCall) -> Completion:
        """The whole response of a non-streaming call."""
        endpoint = call.endpoint
        request = self._request(call, stream=False)
        try:
            with trio.fail_after(endpoint.timeout):
                response = await self._transport.handle_async_request(request)
                try:
                    content = await response.aread()
                finally:
                    await response.aclose()
        except (trio.TooSlowError, httpx.TransportError) as exc:
            failure = _transport_failure(endpoint.provider, exc, endpoint.timeout)
            assert failure is not None
            raise failure from None
        if response.status_code >= 400:
            raise failure_from_status(endpoint.provider, response.status_code, content)
        try:
            data = orjson.loads(content)
            if not isinstance(data, dict):
                raise TypeError("not an object")
            return self.parse(data, call)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, IndexError):
            raise UpstreamFailure(
                endpoint.provider, "malformed", f"{endpoint.provider} sent a malformed response"
            ) from None

    async def open_stream(self, call: UpstreamCall) -> SseChunkStream:
        """A stream, returned once the upstream answered with success and a first event."""
        endpoint = call.endpoint
        request = self._request(call, stream=True)
        response: httpx.Response | None = None
        stream: SseChunkStream | None = None
        try:
            with trio.fail_after(endpoint.first_byte_timeout):
                response = await self._transport.handle_async_request(request)
                if response.status_code >= 400:
                    content = await response.aread()
                    raise failure_from_status(endpoint.provider, response.status_code, content)
                stream = SseChunkStream(
                    response, self.translator(call), endpoint.provider, endpoint.timeout
                )
                await stream.prime()
                return stream
        except BaseException as exc:
            if stream is not None:
                await stream.aclose()
            elif response is not None:
                await _close(response)
            failure = _transport_failure(endpoint.provider, exc, endpoint.first_byte_timeout)
            if failure is None:
                raise
            raise failure from None
