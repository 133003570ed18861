"""What every wire family shares: where a provider is, one call to it, and what comes back."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from gateway.core import TokenCounts
from gateway.core.catalog import Protocol as WireFamily
from gateway.errors import UpstreamError
from gateway.openai_wire import ChatRequest

__all__ = [
    "ChunkStream",
    "Completion",
    "Endpoint",
    "FailureKind",
    "Upstream",
    "UpstreamCall",
    "UpstreamFailure",
]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """How to reach one provider: resolved once from the catalog, settings and environment."""

    provider: str
    protocol: WireFamily
    base_url: str
    # Auth and custom headers; they hold the key, so never shown.
    headers: Mapping[str, str] = field(repr=False)
    simulated: bool = False
    connect_timeout: float = 10.0
    first_byte_timeout: float = 60.0
    timeout: float = 120.0

    @property
    def label(self) -> str:
        """The provider as shown to callers: ``moonshot`` or ``moonshot (simulated)``."""
        return f"{self.provider} (simulated)" if self.simulated else self.provider


@dataclass(frozen=True, slots=True)
class UpstreamCall:
    """One request to one provider."""

    endpoint: Endpoint
    model: str  # the provider's own model id
    request: ChatRequest
    max_output_tokens: int | None  # the limit enforced on the upstream request
    request_id: str = ""


@dataclass(slots=True)
class Completion:
    """A finished non-streaming call: the OpenAI response (without usage) and its tokens."""

    body: dict[str, Any]
    usage: TokenCounts | None


class ChunkStream(Protocol):
    """OpenAI chunk dicts from an upstream that has already answered with its first event.

    ``usage`` holds the upstream's token counts once it reported them (normally at the end).
    """

    @property
    def usage(self) -> TokenCounts | None:
        """The upstream's token counts, once reported."""
        ...

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]: ...

    async def __anext__(self) -> dict[str, Any]: ...

    async def aclose(self) -> None:
        """Stop reading and drop the upstream connection."""
        ...


class Upstream(Protocol):
    """One wire family's way of calling a provider."""

    async def complete(self, call: UpstreamCall) -> Completion:
        """The whole response of a non-streaming call."""
        ...

    async def open_stream(self, call: UpstreamCall) -> ChunkStream:
        """A stream, returned only once the upstream answered with success and a first event."""
        ...


FailureKind = Literal["status", "timeout", "network", "malformed", "midstream"]


class UpstreamFailure(UpstreamError):
    """One provider failed one call; the router decides whether another may be tried.

    ``request_fault`` marks a 4xx that the request itself caused (no failover). Messages never
    carry a key or the upstream's raw credentials errors.
    """

    def __init__(
        self,
        provider: str,
        kind: FailureKind,
        message: str,
        *,
        status: int | None = None,
        request_fault: bool = False,
    ) -> None:
        super().__init__(message, code=f"upstream_{kind}")
        self.provider = provider
        self.kind: FailureKind = kind
        self.upstream_status = status
        self.request_fault = request_fault

    @property
    def retryable(self) -> bool:
        """True when another provider may be tried (only before the first byte)."""
        return not self.request_fault and self.kind != "midstream"
