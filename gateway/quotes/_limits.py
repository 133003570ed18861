"""How big a call may get: prompt estimates, output limits and the most it can cost.

The most a call can cost is its prompt at the dearest input price that can apply (plain input
or a prompt-cache write) plus its output limit at the dearest output price (text or
reasoning). Reservations and quotes use it, so the actual cost of an honest call never exceeds
what was held.

On the hot path (the request carries its own output limit, no quote) the prompt is not run
through a tokenizer: :func:`estimate_prompt_tokens` sizes it from its UTF-8 length, one token
per 3 bytes plus the per-message frame. BPE tokenizers average about 4 bytes a token on English
and code, so the estimate errs high there; on CJK text it can fall short. Either way only the
reservation is affected: the charge is the upstream's reported usage, clamped to the
reservation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from gateway.core import Prices

__all__ = [
    "BYTES_PER_TOKEN",
    "DEFAULT_OUTPUT_LIMIT",
    "IMAGE_TOKENS_ESTIMATE",
    "estimate_prompt_tokens",
    "largest_output",
    "worst_case_cost",
]

BYTES_PER_TOKEN = 3
DEFAULT_OUTPUT_LIMIT = 4096  # when neither the request nor the catalog gives one
IMAGE_TOKENS_ESTIMATE = 1600  # about the most a single image costs on any family
_FRAME = 4  # per message: role and delimiters
_PRIMING = 3
_PER = 1_000_000


def _bytes(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def _content_bytes(content: Any) -> tuple[int, int]:
    if isinstance(content, str):
        return _bytes(content), 0
    size = images = 0
    if isinstance(content, list):
        for part in content:
            if not isinstance(part, dict):
                continue
            if part.get("type") == "text" and isinstance(part.get("text"), str):
                size += _bytes(part["text"])
            elif part.get("type") == "image_url":
                images += 1
            else:
                size += 64
    return size, images


def estimate_prompt_tokens(
    messages: Sequence[Mapping[str, Any]], tools: Sequence[Any] | None = None
) -> int:
    """A cheap estimate of a prompt's tokens from its byte length (no tokenizer)."""
    size = 0
    images = 0
    for message in messages:
        content_size, content_images = _content_bytes(message.get("content"))
        size += content_size
        images += content_images
        for call in message.get("tool_calls") or ():
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict):
                size += _bytes(str(function.get("name", ""))) + _bytes(
                    str(function.get("arguments", ""))
                )
    if tools:
        size += len(orjson.dumps(list(tools)))
    frames = _FRAME * len(messages) + _PRIMING
    return -(-size // BYTES_PER_TOKEN) + frames + images * IMAGE_TOKENS_ESTIMATE


def _input_price(prices: Prices) -> int:
    return max(prices.input, prices.cache_write or 0)


def _output_price(prices: Prices) -> int:
    return max(prices.output, prices.reasoning or 0)


def worst_case_cost(prices: Prices, prompt_tokens: int, output_tokens: int) -> int:
    """The most ``prompt_tokens`` in and ``output_tokens`` out can cost, in µUSD (rounded up)."""
    scaled = prompt_tokens * _input_price(prices) + output_tokens * _output_price(prices)
    return -(-scaled // _PER)


def largest_output(prices: Prices, prompt_tokens: int, budget: int) -> int:
    """The largest output limit whose worst-case cost with the prompt fits ``budget`` µUSD.

    Returns 0 when even the prompt alone does not fit; a large number when output is free.
    """
    left = budget * _PER - prompt_tokens * _input_price(prices)
    if left < 0:
        return 0
    price = _output_price(prices)
    if price == 0:
        return 1 << 31
    return left // price
