"""Token counts for text and for OpenAI-shaped chat prompts, per provider family."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from types import MappingProxyType
from typing import Any

import orjson

from gateway.tokenizer._encoding import cl100k_base

__all__ = [
    "IMAGE_TOKENS",
    "MESSAGE_TOKENS",
    "REPLY_PRIMING_TOKENS",
    "TOKENIZER_NAMES",
    "TOOL_CALL_TOKENS",
    "TOOL_DEFINITION_TOKENS",
    "count_prompt_tokens",
    "count_text_tokens",
    "family_scale",
]

# The estimate for families whose tokenizer is not public: cl100k_base count × factor, rounded up.
# Claude's and Gemini's tokenizers both split English prose and code into more pieces than
# cl100k_base; the factors err high, so a reservation made from them is not undercut.
# (numerator, denominator): plain ints keep the hot path free of Fraction arithmetic.
_FACTORS: Mapping[str, tuple[int, int]] = MappingProxyType(
    {"openai": (1, 1), "anthropic": (6, 5), "google": (11, 10)}
)

TOKENIZER_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "openai": "tiktoken cl100k_base (exact)",
        "anthropic": "estimate: cl100k_base tokens x 1.2, rounded up",
        "google": "estimate: cl100k_base tokens x 1.1, rounded up",
    }
)
"""What each family's counts are based on."""

MESSAGE_TOKENS = 4
"""Per message: OpenAI's cookbook 3-token frame plus 1 for the role (every role is 1 token)."""
REPLY_PRIMING_TOKENS = 3
"""Once per prompt: the cookbook's ``<|start|>assistant<|message|>`` priming of the reply."""
IMAGE_TOKENS = 85
"""Per image part, whatever its size: OpenAI's price of a low-detail image."""
TOOL_CALL_TOKENS = 3
"""Per tool call in an assistant message, on top of its name and arguments."""
TOOL_DEFINITION_TOKENS = 8
"""Per offered tool, on top of its name, description and parameter schema."""

_IMAGE_PART_TYPES = frozenset({"image_url", "input_image", "image"})


def _factor(family: str) -> tuple[int, int]:
    try:
        return _FACTORS[family]
    except KeyError:
        known = ", ".join(_FACTORS)
        raise ValueError(f"unknown tokenizer family {family!r} (known: {known})") from None


def _scale(cl100k_tokens: int, factor: tuple[int, int]) -> int:
    numerator, denominator = factor
    return -(-cl100k_tokens * numerator // denominator)


def _len(text: str) -> int:
    return len(cl100k_base().encode_ordinary(text)) if text else 0


def _canonical_json(value: Any) -> str:
    """Arguments and schemas are counted in one compact, key-sorted form, so the same call
    costs the same whether it arrived as an OpenAI string or an Anthropic/Gemini object."""
    if isinstance(value, str):
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
        return orjson.dumps(parsed, option=orjson.OPT_SORT_KEYS).decode()
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _content_tokens(content: Any) -> int:
    if content is None:
        return 0
    if isinstance(content, str):
        return _len(content)
    total = 0
    for part in content:
        kind = part.get("type")
        if kind in _IMAGE_PART_TYPES:
            total += IMAGE_TOKENS
        elif isinstance(part.get("text"), str):
            total += _len(part["text"])
        elif isinstance(part.get("refusal"), str):
            total += _len(part["refusal"])
    return total


def _message_tokens(message: Mapping[str, Any]) -> int:
    total = MESSAGE_TOKENS + _content_tokens(message.get("content"))
    name = message.get("name")
    if isinstance(name, str) and message.get("role") != "tool":
        total += 1 + _len(name)
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        total += TOOL_CALL_TOKENS + _len(function.get("name") or "")
        total += _len(_canonical_json(function.get("arguments") or "{}"))
    return total


def _tool_tokens(tool: Mapping[str, Any]) -> int:
    function = tool.get("function", tool)
    total = TOOL_DEFINITION_TOKENS + _len(function.get("name") or "")
    total += _len(function.get("description") or "")
    parameters = function.get("parameters")
    if parameters is not None:
        total += _len(_canonical_json(parameters))
    return total


def family_scale(family: str) -> Fraction:
    """A family's tokens per cl100k_base token, before the count is rounded up (no vocabulary).

    ``count_text_tokens(text, family) == ceil(count_text_tokens(text, "openai") * scale)``.

    Raises:
        ValueError: ``family`` is not one of ``openai``, ``anthropic``, ``google``.
    """
    return Fraction(*_factor(family))


def count_text_tokens(text: str, family: str) -> int:
    """Tokens in ``text`` for a provider family (``openai``, ``anthropic`` or ``google``)."""
    return _scale(_len(text), _factor(family))


def count_prompt_tokens(
    messages: Sequence[Mapping[str, Any]],
    family: str,
    tools: Sequence[Mapping[str, Any]] | None = None,
) -> int:
    """Prompt tokens of OpenAI-shaped ``messages`` (and offered ``tools``) for a family.

    Raises:
        ValueError: ``family`` is not one of ``openai``, ``anthropic``, ``google``.
    """
    factor = _factor(family)
    total = REPLY_PRIMING_TOKENS + sum(_message_tokens(message) for message in messages)
    total += sum(_tool_tokens(tool) for tool in tools or ())
    return _scale(total, factor)
