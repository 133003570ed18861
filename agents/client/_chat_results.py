"""A chat completion as the client returns it: the reply, who served it, and what it cost."""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agents.client import _html
from agents.client._parse import integer, mapping, maybe_int, text

__all__ = ["ChatResult", "TokenUsage", "reply_text"]

_SHOWN_CHARS = 2000


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Tokens of one call and what it was charged (µUSD; None when the gateway did not say)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    cost_micro_usd: int | None = None

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    @classmethod
    def from_json(cls, usage: Any) -> TokenUsage:
        """From an OpenAI ``usage`` object (with the gateway's ``cost_micro_usd``)."""
        data = mapping(usage)
        return cls(
            prompt_tokens=integer(data, "prompt_tokens"),
            completion_tokens=integer(data, "completion_tokens"),
            cached_tokens=integer(mapping(data.get("prompt_tokens_details")), "cached_tokens"),
            reasoning_tokens=integer(
                mapping(data.get("completion_tokens_details")), "reasoning_tokens"
            ),
            cost_micro_usd=maybe_int(data, "cost_micro_usd"),
        )


def reply_text(body: Mapping[str, Any]) -> str:
    """The first choice's message text (empty when the reply is only tool calls)."""
    choices = body.get("choices") or [{}]
    content = mapping(mapping(choices[0]).get("message")).get("content")
    if isinstance(content, list):  # content parts
        return "".join(str(mapping(p).get("text", "")) for p in content)
    return content if isinstance(content, str) else ""


@dataclass(frozen=True, slots=True)
class ChatResult:
    """One chat completion: the reply text, the provider that served it, tokens and cost."""

    text: str
    model: str
    provider: str
    usage: TokenUsage
    finish_reason: str | None = None
    simulated: bool = False
    request_id: str | None = None
    quote_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def cost_micro_usd(self) -> int | None:
        """What the call was charged, in µUSD."""
        return self.usage.cost_micro_usd

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        """The tool calls the model asked for (OpenAI shape), if any."""
        choices = self.raw.get("choices") or [{}]
        calls = mapping(mapping(choices[0]).get("message")).get("tool_calls")
        return [dict(c) for c in calls] if isinstance(calls, list) else []

    @classmethod
    def from_json(
        cls, body: Mapping[str, Any], *, request_id: str | None = None, quote_id: str | None = None
    ) -> ChatResult:
        """From a ``chat.completion`` body as the gateway answers it."""
        choices = body.get("choices") or [{}]
        return cls(
            text=reply_text(body),
            model=text(body, "model"),
            provider=text(body, "provider"),
            usage=TokenUsage.from_json(body.get("usage")),
            finish_reason=mapping(choices[0]).get("finish_reason"),
            simulated=bool(body.get("simulated")),
            request_id=request_id,
            quote_id=quote_id,
            raw=body,
        )

    def _repr_html_(self) -> str:
        return chat_card(self.text, self.model, self.provider, self.usage, self.finish_reason)


def chat_card(
    reply: str, model: str, provider: str, usage: TokenUsage | None, finish: str | None
) -> str:
    """The HTML of a reply with its provider, tokens and cost."""
    shown = reply if len(reply) <= _SHOWN_CHARS else reply[:_SHOWN_CHARS] + " …"
    quote = (
        '<blockquote style="white-space: pre-wrap; margin: 4px 0 8px; padding: 6px 10px; '
        f'border-left: 3px solid #4c78a8; background: #f6f8fa">{html.escape(shown)}</blockquote>'
    )
    pairs: list[tuple[str, Any]] = [("model", model), ("provider", provider)]
    if usage is not None:
        pairs += [
            ("prompt tokens", usage.prompt_tokens),
            ("completion tokens", usage.completion_tokens),
            ("cost (µUSD)", usage.cost_micro_usd),
            ("cost (USD)", _html.usd(usage.cost_micro_usd)),
        ]
    if finish:
        pairs.append(("finish reason", finish))
    return _html.block(quote, _html.fields(pairs))
