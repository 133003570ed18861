"""OpenAI Chat Completions: request parsing, JSON and SSE responses, errors."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.simulator._ask import Ask, AskError, ToolSpec, ask_error, require_base64
from gateway.simulator._reply import Choice, Outcome, Usage
from gateway.simulator._wire import Wire, sse

__all__ = ["OPENAI", "SYSTEM_FINGERPRINT"]

SYSTEM_FINGERPRINT = "bitrouter-simulator"
_FINISH = {"stop": "stop", "length": "length", "tool_calls": "tool_calls", "stop_sequence": "stop"}
_ARGUMENT_FRAGMENT = 16


class _Function(BaseModel):
    name: Annotated[str, Field(min_length=1)]
    arguments: str


class _ToolCall(BaseModel):
    id: Annotated[str, Field(min_length=1)]
    type: Literal["function"] = "function"
    function: _Function


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None
    tool_calls: list[_ToolCall] | None = None
    tool_call_id: str | None = None


class _Request(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: Annotated[str, Field(min_length=1)]
    messages: Annotated[list[_Message], Field(min_length=1)]
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    max_tokens: Annotated[int, Field(ge=1)] | None = None
    max_completion_tokens: Annotated[int, Field(ge=1)] | None = None
    n: Annotated[int, Field(ge=1, le=8)] = 1
    stop: str | Annotated[list[str], Field(max_length=4)] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None


def _check_message(index: int, message: _Message) -> None:
    if message.role == "tool" and not message.tool_call_id:
        raise AskError(f"messages.{index}.tool_call_id: a tool message needs the call's id")
    for part_index, part in enumerate(message.content if isinstance(message.content, list) else ()):
        field = f"messages.{index}.content.{part_index}"
        if part.get("type") == "image_url":
            url = str((part.get("image_url") or {}).get("url") or "")
            if url.startswith("data:"):
                head, _, data = url.partition(",")
                if not head.endswith(";base64"):
                    raise AskError(f"{field}.image_url.url: a data URL must be base64")
                require_base64(data, f"{field}.image_url.url")
            elif not url.startswith(("http://", "https://")):
                raise AskError(f"{field}.image_url.url: expected an https or data URL")
        elif part.get("type") == "text" and not isinstance(part.get("text"), str):
            raise AskError(f"{field}.text: a text part needs its text")


def _tools(request: _Request) -> tuple[ToolSpec, ...]:
    specs = []
    for index, tool in enumerate(request.tools or ()):
        function = tool.get("function")
        if tool.get("type") != "function" or not isinstance(function, dict):
            raise AskError(f"tools.{index}: expected {{'type': 'function', 'function': {{…}}}}")
        if not function.get("name"):
            raise AskError(f"tools.{index}.function.name: missing")
        specs.append(
            ToolSpec(
                function["name"],
                function.get("description") or "",
                function.get("parameters") or {},
            )
        )
    return tuple(specs)


def _tool_choice(choice: str | dict[str, Any] | None) -> str:
    if choice is None:
        return "auto"
    if isinstance(choice, str):
        if choice not in ("auto", "none", "required"):
            raise AskError("tool_choice: expected auto, none, required or a named function")
        return choice
    name = (choice.get("function") or {}).get("name")
    if not name:
        raise AskError("tool_choice.function.name: missing")
    return str(name)


def parse(body: Any, provider: str, path_model: str | None) -> Ask:
    """An OpenAI Chat Completions request body as an :class:`Ask`."""
    try:
        request = _Request.model_validate(body)
    except ValidationError as exc:
        raise ask_error(exc) from None
    for index, message in enumerate(request.messages):
        _check_message(index, message)
    stop = (request.stop,) if isinstance(request.stop, str) else tuple(request.stop or ())
    return Ask(
        family="openai",
        provider=provider,
        model=request.model,
        messages=[m.model_dump(exclude_none=True) for m in request.messages],
        tools=_tools(request),
        tool_choice=_tool_choice(request.tool_choice),
        max_tokens=request.max_completion_tokens or request.max_tokens,
        stop=stop,
        n=request.n,
        stream=request.stream,
        include_usage=bool((request.stream_options or {}).get("include_usage")),
    )


def _usage(usage: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.prompt,
        "completion_tokens": usage.completion,
        "total_tokens": usage.total,
        "prompt_tokens_details": {"cached_tokens": usage.cached, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": usage.reasoning,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _call_id(choice: Choice, call_id: str) -> str:
    return f"call_{call_id}{choice.index}"


def _message(choice: Choice) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": choice.text if not choice.tool_calls else None,
        "refusal": None,
        "annotations": [],
    }
    if choice.tool_calls:
        message["tool_calls"] = [
            {
                "id": _call_id(choice, call.call_id),
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments_json},
            }
            for call in choice.tool_calls
        ]
    return message


def _head(ask: Ask, response_id: str, kind: str) -> dict[str, Any]:
    return {
        "id": response_id,
        "object": kind,
        "created": int(time.time()),
        "model": ask.model,
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "service_tier": "default",
    }


def render(ask: Ask, outcome: Outcome, response_id: str) -> dict[str, Any]:
    """The ``chat.completion`` JSON body."""
    return {
        **_head(ask, response_id, "chat.completion"),
        "choices": [
            {
                "index": choice.index,
                "message": _message(choice),
                "logprobs": None,
                "finish_reason": _FINISH[choice.finish],
            }
            for choice in outcome.choices
        ],
        "usage": _usage(outcome.usage),
    }


def _deltas(choice: Choice) -> list[dict[str, Any]]:
    if not choice.tool_calls:
        return [{"role": "assistant", "content": ""}, *({"content": p} for p in choice.pieces())]
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": None}]
    for index, call in enumerate(choice.tool_calls):
        opening = {
            "index": index,
            "id": _call_id(choice, call.call_id),
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        deltas.append({"tool_calls": [opening]})
        text = call.arguments_json
        for at in range(0, len(text), _ARGUMENT_FRAGMENT):
            fragment = {"arguments": text[at : at + _ARGUMENT_FRAGMENT]}
            deltas.append({"tool_calls": [{"index": index, "function": fragment}]})
    return deltas


def events(ask: Ask, outcome: Outcome, response_id: str) -> list[bytes]:
    """Every ``chat.completion.chunk`` of the stream, then ``[DONE]``."""
    head = _head(ask, response_id, "chat.completion.chunk")
    if ask.include_usage:
        head["usage"] = None

    def chunk(choice: Choice, delta: dict[str, Any], finish: str | None) -> bytes:
        entry = {"index": choice.index, "delta": delta, "logprobs": None, "finish_reason": finish}
        return sse({**head, "choices": [entry]})

    chunks: list[bytes] = []
    for choice in outcome.choices:
        chunks += [chunk(choice, delta, None) for delta in _deltas(choice)]
        chunks.append(chunk(choice, {}, _FINISH[choice.finish]))
    if ask.include_usage:
        chunks.append(sse({**head, "choices": [], "usage": _usage(outcome.usage)}))
    return [*chunks, sse("[DONE]")]


_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    404: ("invalid_request_error", "not_found"),
    429: ("requests", "rate_limit_exceeded"),
    503: ("server_error", "service_unavailable"),
}


def error(status: int, message: str) -> dict[str, Any]:
    """OpenAI's error body."""
    kind, code = _ERROR_TYPES.get(status, ("server_error", None))
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


OPENAI = Wire(
    family="openai",
    parse=parse,
    render=render,
    events=events,
    error=error,
    malformed_event=b'data: {"id": "chatcmpl-sim", "choices": [{"delta": \n\n',
    id_prefix="chatcmpl-sim",
)
