"""Anthropic Messages upstreams (``POST /v1/messages``), translated to and from OpenAI.

System and developer messages become ``system``; tool results become ``tool_result`` blocks in a
user turn; consecutive turns of one role are merged (the API wants them alternating). Temperature
is clamped to Anthropic's 0–1. ``response_format`` has no Messages equivalent and is not sent.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from gateway.core import TokenCounts
from gateway.openai_wire import (
    AssistantMessage,
    ChatRequest,
    ContentPart,
    ImagePart,
    TextPart,
    ToolMessage,
    UserMessage,
    completion_body,
    make_chunk,
)
from gateway.providers._content import parse_arguments, parse_data_url, text_of
from gateway.providers._http import HttpUpstream, StreamTranslator, scrub
from gateway.providers._types import Completion, UpstreamCall, UpstreamFailure

__all__ = ["ANTHROPIC_VERSION", "AnthropicUpstream", "anthropic_headers"]

ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096  # Messages requires max_tokens; used only when no limit was set
FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
_PASSTHROUGH = ("thinking", "top_k", "metadata", "service_tier")


def anthropic_headers(api_key: str | None) -> dict[str, str]:
    """Authentication headers of an Anthropic-style provider."""
    headers = {"content-type": "application/json", "anthropic-version": ANTHROPIC_VERSION}
    if api_key:
        headers["x-api-key"] = api_key
    return headers


def _block(part: ContentPart) -> dict[str, Any] | None:
    if isinstance(part, TextPart):
        if not part.text:
            return None  # the API refuses empty text blocks
        block: dict[str, Any] = {"type": "text", "text": part.text}
    elif isinstance(part, ImagePart):
        data = parse_data_url(part.image_url.url)
        source = (
            {"type": "base64", "media_type": data.mime, "data": data.data}
            if data is not None
            else {"type": "url", "url": part.image_url.url}
        )
        block = {"type": "image", "source": source}
    else:
        return None
    extra = part.model_extra or {}
    if "cache_control" in extra:
        block["cache_control"] = extra["cache_control"]
    return block


def _blocks(content: str | list[ContentPart] | None) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    return [b for b in (_block(p) for p in content) if b is not None]


def _append(messages: list[dict[str, Any]], role: str, blocks: list[dict[str, Any]]) -> None:
    if not blocks:
        return
    if messages and messages[-1]["role"] == role:
        messages[-1]["content"].extend(blocks)
    else:
        messages.append({"role": role, "content": blocks})


def _turns(request: ChatRequest) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    system: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    for i, message in enumerate(request.messages):
        if isinstance(message, UserMessage):
            _append(messages, "user", _blocks(message.content))
        elif isinstance(message, AssistantMessage):
            blocks = _blocks(message.content)
            for j, call in enumerate(message.tool_calls or ()):
                where = f"messages[{i}].tool_calls[{j}].function.arguments"
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": call.id,
                        "name": call.function.name,
                        "input": parse_arguments(call.function.arguments, where),
                    }
                )
            _append(messages, "assistant", blocks)
        elif isinstance(message, ToolMessage):
            result = {
                "type": "tool_result",
                "tool_use_id": message.tool_call_id,
                "content": text_of(message.content),
            }
            _append(messages, "user", [result])
        else:
            system.extend(_blocks(message.content))
    return system, messages


def _tool_choice(request: ChatRequest) -> dict[str, Any] | None:
    choice = request.tool_choice
    if choice is None:
        out: dict[str, Any] | None = (
            {"type": "auto"} if request.parallel_tool_calls is False else None
        )
    elif isinstance(choice, str):
        out = {"type": {"auto": "auto", "required": "any", "none": "none"}[choice]}
    else:
        out = {"type": "tool", "name": choice.function.name}
    if out is not None and request.parallel_tool_calls is False and out["type"] != "none":
        out["disable_parallel_tool_use"] = True
    return out


def messages_body(call: UpstreamCall, stream: bool) -> dict[str, Any]:
    """The Messages request body for ``call``."""
    request = call.request
    system, messages = _turns(request)
    body: dict[str, Any] = {
        "model": call.model,
        "messages": messages,
        "max_tokens": call.max_output_tokens or DEFAULT_MAX_TOKENS,
    }
    if system:
        body["system"] = system
    if request.temperature is not None:
        body["temperature"] = min(request.temperature, 1.0)
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if request.stop is not None:
        body["stop_sequences"] = request.stop_list
    if request.tools:
        body["tools"] = [
            {
                "name": t.function.name,
                "description": t.function.description or "",
                "input_schema": t.function.parameters or {"type": "object", "properties": {}},
            }
            for t in request.tools
        ]
    choice = _tool_choice(request)
    if choice is not None:
        body["tool_choice"] = choice
    if request.user:
        body["metadata"] = {"user_id": request.user}
    for name in _PASSTHROUGH:
        if name in call.request.raw:
            body[name] = call.request.raw[name]
    if stream:
        body["stream"] = True
    return body


def anthropic_usage(usage: dict[str, Any]) -> TokenCounts:
    """Token counts from a Messages ``usage`` (its input count excludes cache reads/writes)."""
    plain = usage.get("input_tokens") or 0
    read = usage.get("cache_read_input_tokens") or 0
    write = usage.get("cache_creation_input_tokens") or 0
    return TokenCounts(
        prompt=plain + read + write,
        completion=usage.get("output_tokens") or 0,
        cached=read,
        cache_write=write,
    )


def _message(content: list[dict[str, Any]]) -> dict[str, Any]:
    text: list[str] = []
    thinking: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in content:
        kind = block.get("type")
        if kind == "text":
            text.append(block["text"])
        elif kind == "thinking":
            thinking.append(block.get("thinking", ""))
        elif kind == "tool_use":
            calls.append(
                {
                    "id": block["id"],
                    "type": "function",
                    "function": {
                        "name": block["name"],
                        "arguments": orjson.dumps(block.get("input") or {}).decode(),
                    },
                }
            )
    message: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(text) if text else None,
        "refusal": None,
    }
    if calls:
        message["tool_calls"] = calls
    if thinking:
        message["reasoning_content"] = "".join(thinking)
    return message


class AnthropicUpstream(HttpUpstream):
    """The Anthropic Messages wire family."""

    def build(self, call: UpstreamCall, stream: bool) -> tuple[str, bytes]:
        """``{api_base}/v1/messages`` and the body."""
        base = call.endpoint.base_url
        url = base + ("/messages" if base.endswith("/v1") else "/v1/messages")
        return url, orjson.dumps(messages_body(call, stream))

    def parse(self, data: dict[str, Any], call: UpstreamCall) -> Completion:
        """A Messages response as an OpenAI ``chat.completion``."""
        body = completion_body(
            data["id"],
            int(time.time()),
            call.model,
            _message(data["content"]),
            FINISH.get(data.get("stop_reason") or "end_turn", "stop"),
        )
        usage = data.get("usage")
        return Completion(body, anthropic_usage(usage) if isinstance(usage, dict) else None)

    def translator(self, call: UpstreamCall) -> StreamTranslator:
        """Messages stream events to OpenAI chunks."""
        return _MessagesStream(call.endpoint.provider, call.model)


class _MessagesStream:
    def __init__(self, provider: str, model: str) -> None:
        self.provider = provider
        self.model = model
        self.usage: TokenCounts | None = None
        self.done = False
        self._id = ""
        self._created = int(time.time())
        self._tools: dict[int, int] = {}  # content block index → tool call index
        self._raw_usage: dict[str, Any] = {}

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return make_chunk(self._id, self._created, self.model, delta, finish)

    def _fail(self, message: str) -> UpstreamFailure:
        return UpstreamFailure(self.provider, "midstream", message)

    def feed(self, event: str, data: bytes) -> list[dict[str, Any]]:
        try:
            return self._event(orjson.loads(data))
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            raise UpstreamFailure(
                self.provider, "malformed", f"{self.provider} sent a malformed stream event"
            ) from None

    def _event(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        kind = payload["type"]
        if kind == "content_block_delta":
            return self._delta(payload["index"], payload["delta"])
        if kind == "content_block_start":
            return self._start(payload["index"], payload["content_block"])
        if kind == "message_start":
            message = payload["message"]
            self._id = message.get("id", "")
            self._usage(message.get("usage") or {})
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind == "message_delta":
            self._usage(payload.get("usage") or {})
            reason = (payload.get("delta") or {}).get("stop_reason")
            return [self._chunk({}, FINISH.get(reason or "end_turn", "stop"))]
        if kind == "message_stop":
            self.done = True
        elif kind == "error":
            error = payload.get("error") or {}
            detail = scrub(str(error.get("message") or error.get("type") or "error"))
            raise self._fail(f"{self.provider} stream failed: {detail}")
        return []

    def _usage(self, usage: dict[str, Any]) -> None:
        self._raw_usage.update({k: v for k, v in usage.items() if isinstance(v, int)})
        self.usage = anthropic_usage(self._raw_usage)

    def _start(self, index: int, block: dict[str, Any]) -> list[dict[str, Any]]:
        if block.get("type") == "tool_use":
            position = len(self._tools)
            self._tools[index] = position
            call = {
                "index": position,
                "id": block["id"],
                "type": "function",
                "function": {"name": block["name"], "arguments": ""},
            }
            return [self._chunk({"tool_calls": [call]})]
        if block.get("type") == "text" and block.get("text"):
            return [self._chunk({"content": block["text"]})]
        return []

    def _delta(self, index: int, delta: dict[str, Any]) -> list[dict[str, Any]]:
        kind = delta.get("type")
        if kind == "text_delta":
            return [self._chunk({"content": delta["text"]})]
        if kind == "input_json_delta":
            call = {
                "index": self._tools.get(index, 0),
                "function": {"arguments": delta.get("partial_json", "")},
            }
            return [self._chunk({"tool_calls": [call]})]
        if kind == "thinking_delta":
            return [self._chunk({"reasoning_content": delta.get("thinking", "")})]
        return []

    def finish(self) -> list[dict[str, Any]]:
        return []
