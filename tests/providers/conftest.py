"""Fixtures of the provider tests: calls to fake endpoints and a recording mock upstream.

Helpers are fixtures (not an importable module) so the tests run in any pytest import mode.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest

from gateway.core.catalog import Protocol
from gateway.openai_wire import parse_chat_request
from gateway.providers import Endpoint, UpstreamCall
from gateway.providers._anthropic import anthropic_headers
from gateway.providers._gemini import gemini_headers
from gateway.providers._openai import openai_headers

BASES = {
    "openai": "https://api.example-openai.test/v1",
    "anthropic": "https://api.example-anthropic.test/v1",
    "google": "https://api.example-google.test/v1beta",
}
HEADERS = {"openai": openai_headers, "anthropic": anthropic_headers, "google": gemini_headers}
KEY = "sk-test-secret-key-123456"


async def _pieces(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@dataclass
class Upstream:
    """A mock upstream: answers with ``respond(request)`` and remembers every request."""

    respond: Callable[[httpx.Request], httpx.Response]
    requests: list[httpx.Request] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.respond(request)

    @property
    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = orjson.loads(self.requests[-1].content)
        return data


class Kit:
    """What the provider tests build calls and fake upstreams with."""

    key = KEY
    upstream = Upstream

    @staticmethod
    def call(
        protocol: Protocol,
        body: dict[str, Any],
        *,
        limit: int | None = None,
        provider: str | None = None,
        model: str = "vendor-model-1",
        base: str | None = None,
    ) -> UpstreamCall:
        """One call to a fake endpoint of ``protocol``."""
        endpoint = Endpoint(
            provider=provider or protocol,
            protocol=protocol,
            base_url=base or BASES[protocol],
            headers=HEADERS[protocol](KEY),
            first_byte_timeout=5.0,
            timeout=5.0,
        )
        request = parse_chat_request({"model": "acme/chat-1", **body})
        return UpstreamCall(endpoint, model, request, limit, "req_test")

    @staticmethod
    def streamed(data: bytes, size: int = 7) -> Callable[[httpx.Request], httpx.Response]:
        """An answer sending ``data`` in small pieces, so events arrive split across reads."""
        return lambda request: httpx.Response(200, content=_pieces(data, size))

    @staticmethod
    def client(mock: Upstream) -> httpx.MockTransport:
        """A transport (connection pool stand-in) answering with ``mock``."""
        return httpx.MockTransport(mock.handler)


@pytest.fixture
def kit() -> Kit:
    """Helpers as a fixture, so the tests run in any pytest import mode."""
    return Kit()
