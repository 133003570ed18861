"""Upstream providers: one module per wire family (OpenAI-compatible, Anthropic, Gemini), the
shared upstream connection pool, and which providers are reachable with which credentials."""

from collections.abc import Mapping

import httpx

from gateway.core.catalog import Protocol as WireFamily
from gateway.providers._anthropic import AnthropicUpstream
from gateway.providers._client import create_http_client, create_upstream_transport
from gateway.providers._endpoints import SIMULATED_KEY, Endpoints, ProviderStatus, resolve_endpoints
from gateway.providers._gemini import GeminiUpstream
from gateway.providers._http import HttpUpstream
from gateway.providers._openai import OpenAIUpstream
from gateway.providers._remote import (
    REMOTE_PROVIDER,
    load_remote_catalog,
    remote_settings,
    remote_upstreams,
)
from gateway.providers._types import (
    ChunkStream,
    Completion,
    Endpoint,
    FailureKind,
    Upstream,
    UpstreamCall,
    UpstreamFailure,
)

__all__ = [
    "REMOTE_PROVIDER",
    "SIMULATED_KEY",
    "AnthropicUpstream",
    "ChunkStream",
    "Completion",
    "Endpoint",
    "Endpoints",
    "FailureKind",
    "GeminiUpstream",
    "HttpUpstream",
    "OpenAIUpstream",
    "ProviderStatus",
    "Upstream",
    "UpstreamCall",
    "UpstreamFailure",
    "create_http_client",
    "create_upstream_transport",
    "load_remote_catalog",
    "remote_settings",
    "remote_upstreams",
    "resolve_endpoints",
    "upstreams",
]


def upstreams(transport: httpx.AsyncBaseTransport) -> Mapping[WireFamily, Upstream]:
    """One upstream per wire family, all sharing ``transport`` (the connection pool)."""
    return {
        "openai": OpenAIUpstream(transport),
        "anthropic": AnthropicUpstream(transport),
        "google": GeminiUpstream(transport),
    }
