"""Anthropic Messages: request parsing, JSON and SSE responses, errors.

Usage follows Anthropic's accounting: ``input_tokens`` excludes the prompt tokens read from or
written to the cache, so the three input fields add up to the prompt's count.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.simulator._ask import Ask, AskError, ToolSpec, ask_error, require_base64, text_of
from gateway.simulator._reply import Choice, Outcome, Usage
from gateway.simulator._wire import Wire, sse

__all__ = ["ANTHROPIC"]

_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}
_FRAGMENT = 16


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["user", "assistant"]
    content: str | list[dict[str, Any]]


class _Request(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: Annotated[str, Field(min_length=1)]
    max_tokens: Annotated[int, Field(ge=1)]
    messages: Annotated[list[_Message], Field(min_length=1)]
    system: str | list[dict[str, Any]] | None = None
    stop_sequences: list[str] | None = None
    stream: bool = False
    tools: list[dict[str, Any]] | None = None
    tool_choice: dict[str, Any] | None = None


def _image(block: dict[str, Any], field: str) -> dict[str, Any]:
    source = block.get("source") or {}
    if source.get("type") == "base64":
        require_base64(source.get("data"), f"{field}.source.data")
        url = f"data:{source.get('media_type', 'image/png')};base64,{source['data']}"
    elif source.get("type") == "url" and str(source.get("url", "")).startswith("http"):
        url = source["url"]
    else:
        raise AskError(f"{field}.source: expected a base64 or url image source")
    return {"type": "image_url", "image_url": {"url": url}}


def _user(index: int, blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for at, block in enumerate(blocks):
        field, kind = f"messages.{index}.content.{at}", block.get("type")
        if kind == "text":
            parts.append({"type": "text", "text": str(block.get("text", ""))})
        elif kind == "image":
            parts.append(_image(block, field))
        elif kind == "tool_result":
            if not block.get("tool_use_id"):
                raise AskError(f"{field}.tool_use_id: a tool result needs the call's id")
            content = block.get("content")
            text = content if isinstance(content, str) else text_of(content or [])
            results.append({"role": "tool", "tool_call_id": block["tool_use_id"], "content": text})
        else:
            raise AskError(f"{field}.type: unsupported content block {kind!r}")
    # OpenAI's shape puts tool results first, right after the assistant's calls.
    return results + ([{"role": "user", "content": parts}] if parts else [])


def _assistant(index: int, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    for at, block in enumerate(blocks):
        kind = block.get("type")
        if kind == "text":
            parts.append({"type": "text", "text": str(block.get("text", ""))})
        elif kind == "tool_use":
            if not block.get("id") or not block.get("name"):
                raise AskError(f"messages.{index}.content.{at}: a tool_use needs its id and name")
            arguments = orjson.dumps(block.get("input") or {}).decode()
            function = {"name": block["name"], "arguments": arguments}
            calls.append({"id": block["id"], "type": "function", "function": function})
    message: dict[str, Any] = {"role": "assistant", "content": parts or None}
    return {**message, "tool_calls": calls} if calls else message


def _messages(request: _Request) -> list[dict[str, Any]]:
    converted: list[dict[str, Any]] = []
    if request.system:
        converted.append({"role": "system", "content": request.system})
    for index, message in enumerate(request.messages):
        if isinstance(message.content, str):
            converted.append({"role": message.role, "content": message.content})
        elif message.role == "user":
            converted += _user(index, message.content)
        else:
            converted.append(_assistant(index, message.content))
    return converted


def _tool_choice(choice: dict[str, Any] | None) -> str:
    kind = (choice or {}).get("type", "auto")
    if kind == "tool":
        if not (choice or {}).get("name"):
            raise AskError("tool_choice.name: missing")
        return str((choice or {})["name"])
    modes = {"auto": "auto", "any": "required", "none": "none"}
    if kind not in modes:
        raise AskError("tool_choice.type: expected auto, any, tool or none")
    return modes[kind]


def parse(body: Any, provider: str, path_model: str | None) -> Ask:
    """An Anthropic Messages request body as an :class:`Ask`."""
    try:
        request = _Request.model_validate(body)
    except ValidationError as exc:
        raise ask_error(exc) from None
    tools = []
    for index, tool in enumerate(request.tools or ()):
        if not tool.get("name") or not isinstance(tool.get("input_schema"), dict):
            raise AskError(f"tools.{index}: a tool needs its name and input_schema")
        tools.append(ToolSpec(tool["name"], tool.get("description") or "", tool["input_schema"]))
    return Ask(
        family="anthropic",
        provider=provider,
        model=request.model,
        messages=_messages(request),
        tools=tuple(tools),
        tool_choice=_tool_choice(request.tool_choice),
        max_tokens=request.max_tokens,
        stop=tuple(request.stop_sequences or ()),
        stream=request.stream,
    )


def _usage(usage: Usage, *, output_tokens: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "input_tokens": usage.prompt - usage.cached - usage.cache_write,
        "output_tokens": usage.completion if output_tokens is None else output_tokens,
        "cache_creation_input_tokens": usage.cache_write,
        "cache_read_input_tokens": usage.cached,
    }
    if usage.reasoning:
        body["output_tokens_details"] = {"thinking_tokens": usage.reasoning}
    return body


def _stop(choice: Choice) -> dict[str, Any]:
    reason = "stop_sequence" if choice.stop_sequence else _STOP[choice.finish]
    return {"stop_reason": reason, "stop_sequence": choice.stop_sequence}


def _blocks(choice: Choice) -> list[dict[str, Any]]:
    if not choice.tool_calls:
        return [{"type": "text", "text": choice.text}]
    return [
        {
            "type": "tool_use",
            "id": f"toolu_sim{call.call_id}",
            "name": call.name,
            "input": call.arguments,
        }
        for call in choice.tool_calls
    ]


def _message(ask: Ask, response_id: str, content: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": response_id,
        "type": "message",
        "role": "assistant",
        "model": ask.model,
        "content": content,
    }


def render(ask: Ask, outcome: Outcome, response_id: str) -> dict[str, Any]:
    """The ``message`` JSON body."""
    choice = outcome.choices[0]
    body = _message(ask, response_id, _blocks(choice))
    return {**body, **_stop(choice), "usage": {**_usage(outcome.usage), "service_tier": "standard"}}


def _block_events(index: int, block: dict[str, Any], choice: Choice) -> list[bytes]:
    if block["type"] == "text":
        start = {**block, "text": ""}
        deltas = [{"type": "text_delta", "text": piece} for piece in choice.pieces()]
    else:
        start = {**block, "input": {}}
        text = orjson.dumps(block["input"]).decode()
        deltas = [
            {"type": "input_json_delta", "partial_json": text[at : at + _FRAGMENT]}
            for at in range(0, len(text), _FRAGMENT)
        ]
    head = [
        sse(
            {"type": "content_block_start", "index": index, "content_block": start},
            "content_block_start",
        )
    ]
    if index == 0:
        head.append(sse({"type": "ping"}, "ping"))
    body = [
        sse({"type": "content_block_delta", "index": index, "delta": d}, "content_block_delta")
        for d in deltas
    ]
    return [*head, *body, sse({"type": "content_block_stop", "index": index}, "content_block_stop")]


def events(ask: Ask, outcome: Outcome, response_id: str) -> list[bytes]:
    """The stream: message_start, content blocks, message_delta, message_stop."""
    choice = outcome.choices[0]
    start = {
        **_message(ask, response_id, []),
        "stop_reason": None,
        "stop_sequence": None,
        "usage": _usage(outcome.usage, output_tokens=1),
    }
    stream = [sse({"type": "message_start", "message": start}, "message_start")]
    for index, block in enumerate(_blocks(choice)):
        stream += _block_events(index, block, choice)
    delta = {"type": "message_delta", "delta": _stop(choice), "usage": _usage(outcome.usage)}
    return [*stream, sse(delta, "message_delta"), sse({"type": "message_stop"}, "message_stop")]


_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    503: "overloaded_error",
}


def error(status: int, message: str) -> dict[str, Any]:
    """Anthropic's error body."""
    return {
        "type": "error",
        "error": {"type": _ERROR_TYPES.get(status, "api_error"), "message": message},
    }


ANTHROPIC = Wire(
    family="anthropic",
    parse=parse,
    render=render,
    events=events,
    error=error,
    malformed_event=b'event: content_block_delta\ndata: {"type": "content_block_delta", "ind\n\n',
    id_prefix="msg_sim",
)
