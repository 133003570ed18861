"""Building OpenAI Chat Completions responses and chunks as plain dicts (serialised by orjson).

Responses are built as dicts rather than pydantic models: this is the hot path, and the dicts
go straight to orjson.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.core import TokenCounts

__all__ = ["completion_body", "make_chunk", "usage_body", "usage_from_openai"]


def usage_body(tokens: TokenCounts, cost_micro_usd: int | None = None) -> dict[str, Any]:
    """The OpenAI ``usage`` object for ``tokens``, with the charged cost when known."""
    usage: dict[str, Any] = {
        "prompt_tokens": tokens.prompt,
        "completion_tokens": tokens.completion,
        "total_tokens": tokens.prompt + tokens.completion,
        "prompt_tokens_details": {"cached_tokens": tokens.cached},
        "completion_tokens_details": {"reasoning_tokens": tokens.reasoning},
    }
    if tokens.cache_write:
        usage["prompt_tokens_details"]["cache_write_tokens"] = tokens.cache_write
    if cost_micro_usd is not None:
        usage["cost_micro_usd"] = cost_micro_usd
    return usage


def _int(value: Any) -> int:
    return value if isinstance(value, int) and value > 0 else 0


def usage_from_openai(usage: Mapping[str, Any]) -> TokenCounts:
    """Token counts from an OpenAI-style ``usage`` object (and the common vendor variants)."""
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    cached = (
        _int(prompt_details.get("cached_tokens"))
        or _int(usage.get("prompt_cache_hit_tokens"))  # DeepSeek
        or _int(usage.get("cached_tokens"))  # Moonshot
    )
    return TokenCounts(
        prompt=_int(usage.get("prompt_tokens")),
        completion=_int(usage.get("completion_tokens")),
        cached=cached,
        cache_write=_int(prompt_details.get("cache_write_tokens")),
        reasoning=_int(completion_details.get("reasoning_tokens")),
    )


def make_chunk(
    chunk_id: str,
    created: int,
    model: str,
    delta: dict[str, Any],
    finish_reason: str | None = None,
) -> dict[str, Any]:
    """One ``chat.completion.chunk`` with a single choice."""
    return {
        "id": chunk_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def completion_body(
    completion_id: str,
    created: int,
    model: str,
    message: dict[str, Any],
    finish_reason: str,
) -> dict[str, Any]:
    """One ``chat.completion`` with a single choice (usage is added by the caller)."""
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}
        ],
    }
