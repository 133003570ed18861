"""Google Gemini ``generateContent``: request parsing, JSON and SSE responses, errors.

Field names are read in camelCase or snake_case, as Google's JSON mapping accepts both. A
``functionResponse`` is quoted and counted as the string under its ``content``, ``result`` or
``output`` key when it has one, else as compact key-sorted JSON. Usage follows Google's
accounting: ``candidatesTokenCount`` excludes ``thoughtsTokenCount``; zero optional counts are
left out, as the real API leaves them out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

import orjson
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from gateway.simulator._ask import Ask, AskError, ToolSpec, ask_error, require_base64
from gateway.simulator._reply import Choice, Outcome, Usage
from gateway.simulator._wire import Wire, sse

__all__ = ["GOOGLE"]

_FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP", "stop_sequence": "STOP"}


def _get(mapping: Mapping[str, Any], camel: str, snake: str) -> Any:
    return mapping.get(camel, mapping.get(snake))


class _Content(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["user", "model", "function"] = "user"
    parts: Annotated[list[dict[str, Any]], Field(min_length=1)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="allow")

    contents: Annotated[list[_Content], Field(min_length=1)]
    system: dict[str, Any] | None = Field(
        None, validation_alias=AliasChoices("systemInstruction", "system_instruction")
    )
    generation: dict[str, Any] = Field(
        default_factory=dict, validation_alias=AliasChoices("generationConfig", "generation_config")
    )
    tools: list[dict[str, Any]] = Field(default_factory=list)
    tool_config: dict[str, Any] = Field(
        default_factory=dict, validation_alias=AliasChoices("toolConfig", "tool_config")
    )


def _response_text(response: Any) -> str:
    if isinstance(response, str):
        return response
    if isinstance(response, Mapping):
        for key in ("content", "result", "output"):
            if isinstance(response.get(key), str):
                return str(response[key])
    return orjson.dumps(response, option=orjson.OPT_SORT_KEYS).decode()


def _user_parts(index: int, parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    converted: list[dict[str, Any]] = []
    for at, part in enumerate(parts):
        field = f"contents.{index}.parts.{at}"
        inline = _get(part, "inlineData", "inline_data")
        stored = _get(part, "fileData", "file_data")
        response = _get(part, "functionResponse", "function_response")
        if isinstance(part.get("text"), str):
            converted.append({"type": "text", "text": part["text"]})
        elif isinstance(inline, Mapping):
            require_base64(inline.get("data"), f"{field}.inlineData.data")
            mime = _get(inline, "mimeType", "mime_type") or "image/png"
            converted.append(
                {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{inline['data']}"}}
            )
        elif isinstance(stored, Mapping) and _get(stored, "fileUri", "file_uri"):
            converted.append(
                {"type": "image_url", "image_url": {"url": _get(stored, "fileUri", "file_uri")}}
            )
        elif isinstance(response, Mapping) and response.get("name"):
            text = _response_text(response.get("response"))
            results.append(
                {
                    "role": "tool",
                    "tool_call_id": response.get("id") or response["name"],
                    "content": text,
                }
            )
        else:
            raise AskError(f"{field}: expected text, inlineData, fileData or functionResponse")
    return results + ([{"role": "user", "content": converted}] if converted else [])


def _model_parts(index: int, parts: list[dict[str, Any]]) -> dict[str, Any]:
    texts = [
        {"type": "text", "text": part["text"]}
        for part in parts
        if isinstance(part.get("text"), str)
    ]
    calls = []
    for at, part in enumerate(parts):
        call = _get(part, "functionCall", "function_call")
        if isinstance(call, Mapping):
            if not call.get("name"):
                raise AskError(f"contents.{index}.parts.{at}.functionCall.name: missing")
            arguments = orjson.dumps(call.get("args") or {}).decode()
            function = {"name": call["name"], "arguments": arguments}
            calls.append(
                {"id": call.get("id") or call["name"], "type": "function", "function": function}
            )
    message: dict[str, Any] = {"role": "assistant", "content": texts or None}
    return {**message, "tool_calls": calls} if calls else message


def _tools(request: _Request) -> tuple[ToolSpec, ...]:
    specs = []
    for tool in request.tools:
        for declaration in _get(tool, "functionDeclarations", "function_declarations") or ():
            if not declaration.get("name"):
                raise AskError("tools.functionDeclarations.name: missing")
            schema = declaration.get("parameters") or declaration.get("parametersJsonSchema") or {}
            specs.append(
                ToolSpec(declaration["name"], declaration.get("description") or "", schema)
            )
    return tuple(specs)


def _tool_choice(request: _Request) -> str:
    calling = _get(request.tool_config, "functionCallingConfig", "function_calling_config") or {}
    mode = str(calling.get("mode", "AUTO")).upper()
    allowed = _get(calling, "allowedFunctionNames", "allowed_function_names") or []
    if mode == "NONE":
        return "none"
    if mode == "ANY":
        return str(allowed[0]) if allowed else "required"
    return "auto"


def parse(body: Any, provider: str, path_model: str | None) -> Ask:
    """A Gemini ``generateContent`` request body as an :class:`Ask`."""
    try:
        request = _Request.model_validate(body)
    except ValidationError as exc:
        raise ask_error(exc) from None
    messages: list[dict[str, Any]] = []
    if request.system:
        parts = request.system.get("parts") or []
        texts = [
            {"type": "text", "text": p["text"]} for p in parts if isinstance(p.get("text"), str)
        ]
        messages.append({"role": "system", "content": texts})
    for index, content in enumerate(request.contents):
        if content.role == "model":
            messages.append(_model_parts(index, content.parts))
        else:
            messages += _user_parts(index, content.parts)
    generation = request.generation
    limit = _get(generation, "maxOutputTokens", "max_output_tokens")
    count = _get(generation, "candidateCount", "candidate_count") or 1
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise AskError("generationConfig.maxOutputTokens: expected a positive integer")
    if not isinstance(count, int) or not 1 <= count <= 8:
        raise AskError("generationConfig.candidateCount: expected 1 to 8")
    return Ask(
        family="google",
        provider=provider,
        model=path_model or "",
        messages=messages,
        tools=_tools(request),
        tool_choice=_tool_choice(request),
        max_tokens=limit,
        stop=tuple(_get(generation, "stopSequences", "stop_sequences") or ()),
        n=count,
    )


def _usage(usage: Usage) -> dict[str, Any]:
    body: dict[str, Any] = {
        "promptTokenCount": usage.prompt,
        "candidatesTokenCount": usage.completion - usage.reasoning,
        "totalTokenCount": usage.total,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": usage.prompt}],
    }
    if usage.cached:
        body["cachedContentTokenCount"] = usage.cached
    if usage.reasoning:
        body["thoughtsTokenCount"] = usage.reasoning
    return body


def _parts(choice: Choice) -> list[dict[str, Any]]:
    if choice.tool_calls:
        return [{"functionCall": {"name": c.name, "args": c.arguments}} for c in choice.tool_calls]
    return [{"text": choice.text}]


def _candidate(choice: Choice, parts: list[dict[str, Any]], finish: bool) -> dict[str, Any]:
    candidate: dict[str, Any] = {
        "content": {"parts": parts, "role": "model"},
        "index": choice.index,
    }
    return {**candidate, "finishReason": _FINISH[choice.finish]} if finish else candidate


def render(ask: Ask, outcome: Outcome, response_id: str) -> dict[str, Any]:
    """The ``GenerateContentResponse`` JSON body."""
    return {
        "candidates": [_candidate(c, _parts(c), True) for c in outcome.choices],
        "usageMetadata": _usage(outcome.usage),
        "modelVersion": ask.model,
        "responseId": response_id,
    }


def events(ask: Ask, outcome: Outcome, response_id: str) -> list[bytes]:
    """The ``alt=sse`` stream: one response per chunk, usage on the last."""
    chunks: list[dict[str, Any]] = []
    for choice in outcome.choices:
        pieces = [[{"text": p}] for p in choice.pieces()] if not choice.tool_calls else []
        parts = pieces or [_parts(choice)]
        for at, part in enumerate(parts):
            candidate = _candidate(choice, part, at == len(parts) - 1)
            chunks.append(
                {"candidates": [candidate], "modelVersion": ask.model, "responseId": response_id}
            )
    chunks[-1]["usageMetadata"] = _usage(outcome.usage)
    return [sse(chunk) for chunk in chunks]


_STATUSES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    503: "UNAVAILABLE",
}


def error(status: int, message: str) -> dict[str, Any]:
    """Google's error body."""
    return {
        "error": {"code": status, "message": message, "status": _STATUSES.get(status, "INTERNAL")}
    }


GOOGLE = Wire(
    family="google",
    parse=parse,
    render=render,
    events=events,
    error=error,
    malformed_event=b'data: {"candidates": [{"content": \n\n',
    id_prefix="sim",
)
