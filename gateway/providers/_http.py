"""The HTTP mechanics every wire family shares: send, classify failures, read SSE streams.

A family subclasses :class:`HttpUpstream` and supplies only translation: the upstream URL and
body for a call, the OpenAI response for an upstream response, and a stream translator.

Calls go through the gateway's own connection pool (:class:`WirePool`) when the upstream is
given one — the runtime does — or else through any httpx transport (tests pass a
``MockTransport``). Both paths share the failure mapping and the stream reader.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import trio

from gateway.providers._chunk_stream import (
    SseChunkStream,
    StreamTranslator,
    scrub,
    transport_failure,
)
from gateway.providers._types import Completion, Endpoint, UpstreamCall, UpstreamFailure
from gateway.providers._wire_client import Origin, WireError, WirePool, WireResponse, parse_url

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
USER_AGENT = "bitrouter/0.1"
_BAD_HEADER = frozenset(b"\r\n\x00")


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


async def _close(response: httpx.Response) -> None:
    with trio.CancelScope(shield=True):
        await response.aclose()


def _wire_head(url: str, endpoint: Endpoint) -> tuple[Origin, bytes]:
    """The origin and the request head up to ``content-length: `` for POSTs to ``url``."""
    try:
        origin, target, host = parse_url(url)
        lines = [b"POST " + target + b" HTTP/1.1", b"host: " + host]
        lines.append(b"user-agent: " + USER_AGENT.encode())
        for name, value in endpoint.headers.items():
            raw_name, raw_value = name.encode("ascii"), value.encode("latin-1")
            if not raw_name or _BAD_HEADER & set(raw_name + raw_value) or b":" in raw_name:
                raise ValueError("a header is not valid HTTP")
            lines.append(raw_name + b": " + raw_value)
    except (ValueError, UnicodeError):
        raise UpstreamFailure(
            endpoint.provider,
            "network",
            f"the URL or headers configured for {endpoint.provider} are not valid HTTP",
        ) from None
    return origin, b"\r\n".join(lines) + b"\r\ncontent-length: "


class HttpUpstream:
    """Calls over the shared upstream pool; subclasses translate one wire family."""

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self._transport = transport
        self._pool = transport if isinstance(transport, WirePool) else None
        self._timeouts: dict[str, dict[str, float | None]] = {}
        self._prepared: dict[str, tuple[httpx.URL, httpx.Headers, Endpoint]] = {}
        self._heads: dict[str, tuple[Origin, bytes, Endpoint]] = {}

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

    def _wire_request(self, call: UpstreamCall, stream: bool) -> tuple[Origin, bytes]:
        # The head is prepared once per URL and provider; a call adds its length and body.
        endpoint = call.endpoint
        url, body = self.build(call, stream)
        prepared = self._heads.get(url)
        if prepared is None or prepared[2] is not endpoint:
            origin, head = _wire_head(url, endpoint)
            prepared = self._heads[url] = (origin, head, endpoint)
        return prepared[0], b"".join((prepared[1], str(len(body)).encode(), b"\r\n\r\n", body))

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

    async def _fetch(self, call: UpstreamCall) -> tuple[int, bytes]:
        """Status and whole body of a non-streaming call (no deadline of its own)."""
        if self._pool is not None:
            origin, data = self._wire_request(call, stream=False)
            reply = await self._pool.request(
                origin, data, connect_timeout=call.endpoint.connect_timeout
            )
            try:
                return reply.status, await reply.read()
            finally:
                await reply.aclose()
        response = await self._transport.handle_async_request(self._request(call, stream=False))
        try:
            return response.status_code, await response.aread()
        finally:
            await response.aclose()

    async def complete(self, call: UpstreamCall) -> Completion:
        """The whole response of a non-streaming call."""
        endpoint = call.endpoint
        try:
            with trio.fail_after(endpoint.timeout):
                status, content = await self._fetch(call)
        except (trio.TooSlowError, httpx.TransportError, WireError) as exc:
            failure = transport_failure(endpoint.provider, exc, endpoint.timeout)
            assert failure is not None
            raise failure from None
        if status >= 400:
            raise failure_from_status(endpoint.provider, status, content)
        try:
            data = orjson.loads(content)
            if not isinstance(data, dict):
                raise TypeError("not an object")
            return self.parse(data, call)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, IndexError):
            raise UpstreamFailure(
                endpoint.provider, "malformed", f"{endpoint.provider} sent a malformed response"
            ) from None

    async def _open_wire(self, call: UpstreamCall, pool: WirePool) -> SseChunkStream:
        endpoint = call.endpoint
        origin, data = self._wire_request(call, stream=True)
        reply: WireResponse = await pool.request(
            origin, data, connect_timeout=endpoint.connect_timeout, read_timeout=endpoint.timeout
        )
        if reply.status >= 400:
            try:
                content = await reply.read()
            finally:
                await reply.aclose()
            raise failure_from_status(endpoint.provider, reply.status, content)
        stream = SseChunkStream(
            reply, reply.aclose, self.translator(call), endpoint.provider, endpoint.timeout
        )
        try:
            await stream.prime()
        except BaseException:
            await stream.aclose()
            raise
        return stream

    async def _open_httpx(self, call: UpstreamCall) -> SseChunkStream:
        endpoint = call.endpoint
        response = await self._transport.handle_async_request(self._request(call, stream=True))
        stream: SseChunkStream | None = None
        try:
            if response.status_code >= 400:
                content = await response.aread()
                raise failure_from_status(endpoint.provider, response.status_code, content)
            stream = SseChunkStream(
                response.aiter_bytes(),
                response.aclose,
                self.translator(call),
                endpoint.provider,
                endpoint.timeout,
            )
            await stream.prime()
            return stream
        except BaseException:
            if stream is not None:
                await stream.aclose()
            else:
                await _close(response)
            raise

    async def open_stream(self, call: UpstreamCall) -> SseChunkStream:
        """A stream, returned once the upstream answered with success and a first event."""
        endpoint = call.endpoint
        try:
            with trio.fail_after(endpoint.first_byte_timeout):
                if self._pool is not None:
                    return await self._open_wire(call, self._pool)
                return await self._open_httpx(call)
        except BaseException as exc:
            failure = transport_failure(endpoint.provider, exc, endpoint.first_byte_timeout)
            if failure is None:
                raise
            raise failure from None
