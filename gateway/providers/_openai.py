"""OpenAI-compatible Chat Completions upstreams: OpenAI, OpenRouter, Moonshot, DeepSeek, xAI,
Qwen, Z.ai, Ollama, vLLM, llama.cpp and any other server at an ``api_base``.

The request goes out as the caller sent it (unknown fields included), with the provider's model
id, the gateway's output limit and ``stream_options.include_usage`` so every stream reports usage.
"""

from __future__ import annotations

from typing import Any

import orjson

from gateway.core import TokenCounts
from gateway.openai_wire import usage_from_openai
from gateway.providers._http import HttpUpstream, StreamTranslator, scrub
from gateway.providers._types import Completion, UpstreamCall, UpstreamFailure

__all__ = ["OpenAIUpstream", "openai_headers"]

# Gateway-only fields that an upstream would reject.
_GATEWAY_FIELDS = ("provider",)


def openai_headers(api_key: str | None) -> dict[str, str]:
    """Authentication headers of an OpenAI-compatible provider."""
    headers = {"content-type": "application/json", "accept": "application/json"}
    if api_key:
        headers["authorization"] = f"Bearer {api_key}"
    return headers


def upstream_body(call: UpstreamCall, stream: bool) -> dict[str, Any]:
    """The OpenAI request body for ``call``."""
    body = dict(call.request.raw)
    body["model"] = call.model
    for name in _GATEWAY_FIELDS:
        body.pop(name, None)
    limit = call.max_output_tokens
    if limit is not None:
        if "max_completion_tokens" in body:
            body["max_completion_tokens"] = limit
        elif "max_tokens" in body or call.endpoint.provider != "openai":
            body["max_tokens"] = limit
        else:
            # OpenAI's reasoning models refuse max_tokens; every OpenAI model takes this one.
            body["max_completion_tokens"] = limit
    if stream:
        body["stream"] = True
        options = body.get("stream_options")
        body["stream_options"] = {
            **(options if isinstance(options, dict) else {}),
            "include_usage": True,
        }
    else:
        body.pop("stream_options", None)
        body["stream"] = False
    return body


class OpenAIUpstream(HttpUpstream):
    """The OpenAI-compatible wire family."""

    def build(self, call: UpstreamCall, stream: bool) -> tuple[str, bytes]:
        """``{api_base}/chat/completions`` and the body."""
        url = call.endpoint.base_url + "/chat/completions"
        return url, orjson.dumps(upstream_body(call, stream))

    def parse(self, data: dict[str, Any], call: UpstreamCall) -> Completion:
        """The upstream's response is already OpenAI-shaped; only usage is taken out."""
        if not isinstance(data["choices"], list):
            raise TypeError("choices is not a list")
        usage = data.pop("usage", None)
        return Completion(data, usage_from_openai(usage) if isinstance(usage, dict) else None)

    def translator(self, call: UpstreamCall) -> StreamTranslator:
        """Chunks pass through; the usage chunk is taken out."""
        return _ChunkPassthrough(call.endpoint.provider)


class _ChunkPassthrough:
    __slots__ = ("done", "provider", "usage")

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.usage: TokenCounts | None = None
        self.done = False

    def feed(self, event: str, data: bytes) -> list[dict[str, Any]]:
        if data == b"[DONE]":
            self.done = True
            return []
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise UpstreamFailure(
                self.provider, "malformed", f"{self.provider} sent a malformed stream event"
            ) from None
        if not isinstance(chunk, dict):
            raise UpstreamFailure(self.provider, "malformed", f"{self.provider} sent a bad event")
        if "error" in chunk:
            error = chunk["error"]
            detail = error.get("message") if isinstance(error, dict) else None
            detail = scrub(detail) if isinstance(detail, str) else "error"
            raise UpstreamFailure(
                self.provider, "midstream", f"{self.provider} stream failed: {detail}"
            )
        usage = chunk.pop("usage", None)
        if isinstance(usage, dict):
            self.usage = usage_from_openai(usage)
        if not chunk.get("choices"):
            return []
        return [chunk]

    def finish(self) -> list[dict[str, Any]]:
        return []
