"""One streamed chat completion: text deltas handed on as they come, tool calls gathered."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

from openai import AsyncOpenAI, omit
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolUnionParam

__all__ = ["ModelReply", "OnText", "ToolCall", "stream_reply"]

OnText = Callable[[str], Awaitable[None]]


@dataclass
class ToolCall:
    """One function call the model asked for."""

    id: str
    name: str = ""
    arguments: str = ""


@dataclass
class ModelReply:
    """What one completion said."""

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None

    def message(self) -> dict[str, Any]:
        """The reply as the assistant message of the conversation."""
        message: dict[str, Any] = {"role": "assistant", "content": self.text or None}
        if self.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments or "{}"},
                }
                for call in self.tool_calls
            ]
        return message


async def stream_reply(
    client: AsyncOpenAI,
    *,
    model: str,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]],
    max_tokens: int | None,
    on_text: OnText,
) -> ModelReply:
    """Stream one completion, calling ``on_text`` with each text delta.

    Raises:
        openai.APIStatusError: the gateway refused or failed the call (402: a spending limit).
    """
    stream = await client.chat.completions.create(
        model=model,
        messages=cast("list[ChatCompletionMessageParam]", messages),
        tools=cast("list[ChatCompletionToolUnionParam]", tools) if tools else omit,
        max_tokens=max_tokens if max_tokens is not None else omit,
        stream=True,
        stream_options={"include_usage": True},
    )
    reply = ModelReply()
    calls: dict[int, ToolCall] = {}
    async with stream:
        async for chunk in stream:
            for choice in chunk.choices:
                delta = choice.delta
                if delta.content:
                    reply.text += delta.content
                    await on_text(delta.content)
                for part in delta.tool_calls or ():
                    call = calls.setdefault(
                        part.index, ToolCall(id=part.id or f"call_{part.index}")
                    )
                    if part.function is not None:
                        call.name += part.function.name or ""
                        call.arguments += part.function.arguments or ""
                if choice.finish_reason:
                    reply.finish_reason = choice.finish_reason
    reply.tool_calls = [calls[index] for index in sorted(calls)]
    return reply
