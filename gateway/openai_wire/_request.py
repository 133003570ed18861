"""The OpenAI Chat Completions request, as the gateway accepts it.

Unknown fields are kept (``extra="allow"``) so that vendor parameters reach OpenAI-compatible
upstreams untouched. The request is parsed once with orjson and validated from the resulting
dict; the dict is kept on the model (``request.raw``) so the OpenAI-family upstream body and the
token counter work from it without re-serialising through pydantic.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from gateway.errors import BadRequest

__all__ = [
    "AssistantMessage",
    "ChatRequest",
    "ContentPart",
    "DeveloperMessage",
    "FunctionDef",
    "ImagePart",
    "ImageUrl",
    "MaxPrice",
    "Message",
    "NamedToolChoice",
    "ProviderPreferences",
    "ResponseFormat",
    "StreamOptions",
    "SystemMessage",
    "TextPart",
    "Tool",
    "ToolCall",
    "ToolMessage",
    "UserMessage",
    "parse_chat_request",
]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class TextPart(_Open):
    """A text content part."""

    type: Literal["text"]
    text: str


class ImageUrl(_Open):
    """An image by URL or ``data:`` URL."""

    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(_Open):
    """An image content part."""

    type: Literal["image_url"]
    image_url: ImageUrl


class AudioPart(_Open):
    """An audio content part (passed through to OpenAI-compatible upstreams only)."""

    type: Literal["input_audio"]
    input_audio: dict[str, Any]


class FilePart(_Open):
    """A file content part (passed through to OpenAI-compatible upstreams only)."""

    type: Literal["file"]
    file: dict[str, Any]


class RefusalPart(_Open):
    """An assistant refusal part."""

    type: Literal["refusal"]
    refusal: str


ContentPart = Annotated[
    TextPart | ImagePart | AudioPart | FilePart | RefusalPart, Field(discriminator="type")
]


class FunctionCall(_Open):
    """The function a tool call invokes, with JSON-encoded arguments."""

    name: str
    arguments: str = ""


class ToolCall(_Open):
    """A tool call made by the assistant."""

    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class SystemMessage(_Open):
    """A system message."""

    role: Literal["system"]
    content: str | list[ContentPart]
    name: str | None = None


class DeveloperMessage(_Open):
    """A developer message (treated as a system message by non-OpenAI families)."""

    role: Literal["developer"]
    content: str | list[ContentPart]
    name: str | None = None


class UserMessage(_Open):
    """A user message: text or content parts (text, images, audio, files)."""

    role: Literal["user"]
    content: str | list[ContentPart]
    name: str | None = None


class AssistantMessage(_Open):
    """An assistant turn, possibly with tool calls."""

    role: Literal["assistant"]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    refusal: str | None = None


class ToolMessage(_Open):
    """A tool's result for one tool call."""

    role: Literal["tool"]
    content: str | list[ContentPart]
    tool_call_id: str


Message = Annotated[
    SystemMessage | DeveloperMessage | UserMessage | AssistantMessage | ToolMessage,
    Field(discriminator="role"),
]


class FunctionDef(_Open):
    """A function the model may call."""

    name: Annotated[str, Field(min_length=1, max_length=64)]
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(_Open):
    """A tool offered to the model."""

    type: Literal["function"]
    function: FunctionDef


class _NamedFunction(_Open):
    name: str


class NamedToolChoice(_Open):
    """Force one named function."""

    type: Literal["function"]
    function: _NamedFunction


class JsonSchemaFormat(_Open):
    """The schema of a ``json_schema`` response format."""

    name: str
    description: str | None = None
    schema_: Annotated[dict[str, Any] | None, Field(alias="schema")] = None
    strict: bool | None = None


class ResponseFormat(_Open):
    """``text``, ``json_object`` or ``json_schema`` output."""

    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None


class StreamOptions(_Open):
    """Streaming options."""

    include_usage: bool = False


class MaxPrice(_Open):
    """The highest unit prices the caller accepts, in USD per 1M tokens."""

    prompt: Annotated[float, Field(ge=0)] | None = None
    completion: Annotated[float, Field(ge=0)] | None = None


class ProviderPreferences(_Open):
    """The OpenRouter-style ``provider`` object: which providers, in which order."""

    order: list[str] = Field(default_factory=list)
    only: list[str] = Field(default_factory=list)
    ignore: list[str] = Field(default_factory=list)
    allow_fallbacks: bool = True
    sort: Literal["price", "latency", "throughput"] | None = None
    max_price: MaxPrice | None = None


Unit = Annotated[float, Field(ge=0, le=1)]
Penalty = Annotated[float, Field(ge=-2, le=2)]
PositiveInt = Annotated[int, Field(ge=1)]


class ChatRequest(_Open):
    """A Chat Completions request (the fields the gateway reads; all others pass through)."""

    model: Annotated[str, Field(min_length=1)]
    messages: Annotated[list[Message], Field(min_length=1)]
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Unit | None = None
    max_tokens: PositiveInt | None = None
    max_completion_tokens: PositiveInt | None = None
    stop: str | list[str] | None = None
    n: Annotated[int, Field(ge=1, le=128)] | None = None
    seed: int | None = None
    frequency_penalty: Penalty | None = None
    presence_penalty: Penalty | None = None
    user: str | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    tools: list[Tool] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    provider: ProviderPreferences | None = None
    _raw: dict[str, Any] | None = PrivateAttr(default=None)

    @property
    def raw(self) -> dict[str, Any]:
        """The JSON object the request was parsed from (rebuilt when it was made in code)."""
        # Read the private slot directly: pydantic's attribute fallback is slow on this path.
        private = self.__pydantic_private__
        raw: dict[str, Any] | None = private.get("_raw") if private else None
        if raw is None:
            raw = self.model_dump(mode="json", by_alias=True, exclude_unset=True)
            self._raw = raw
        return raw

    @property
    def output_limit(self) -> int | None:
        """The caller's output-token limit (``max_completion_tokens`` wins over ``max_tokens``)."""
        return self.max_completion_tokens or self.max_tokens

    @property
    def stop_list(self) -> list[str]:
        """The stop sequences as a list."""
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)


# Locations in pydantic errors include union members ("str", "list[...]", class names) and
# discriminator tags; a caller knows only the JSON path, so those parts are dropped.
_MEMBERS = frozenset({"str", "int", "float", "bool", "dict", "list", "none"})
_EXPECTED = {
    "string_type": "a string",
    "list_type": "a list",
    "dict_type": "an object",
    "model_type": "an object",
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "a boolean",
}


def _is_member(part: str) -> bool:
    return "[" in part or part in _MEMBERS or part[:1].isupper()


def _param(loc: tuple[int | str, ...]) -> str:
    out = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        if _is_member(part):
            continue
        before = loc[i - 2] if i >= 2 else None
        if isinstance(loc[i - 1] if i else None, int) and (
            before == "messages" or (isinstance(before, str) and _is_member(before))
        ):
            continue  # a discriminator tag
        out += f".{part}" if out else part
    return out


def _bad_request(error: ValidationError) -> BadRequest:
    errors = error.errors(include_url=False)
    if errors[0]["type"] == "json_invalid":
        return BadRequest(f"the request body is not valid JSON: {errors[0]['msg']}")
    deepest = max(len(e["loc"]) for e in errors)
    first = next(e for e in errors if len(e["loc"]) == deepest)
    param = _param(first["loc"]) or None
    kind = first["type"]
    if kind == "missing":
        return BadRequest(f"{param}: required field is missing", param=param)
    if kind == "union_tag_invalid":
        ctx = first.get("ctx", {})
        what = str(ctx.get("discriminator", "tag")).strip("'")
        msg = f"unknown {what} {ctx.get('tag')!r} (expected {ctx.get('expected_tags')})"
    elif kind in _EXPECTED:
        alike = [e for e in errors if _param(e["loc"]) == param and e["type"] in _EXPECTED]
        wanted = dict.fromkeys(_EXPECTED[e["type"]] for e in alike)
        msg = "expected " + " or ".join(wanted)
    else:
        msg = first["msg"][:1].lower() + first["msg"][1:]
    return BadRequest(f"{param or 'body'}: {msg}", param=param)


def parse_chat_request(body: bytes | str | dict[str, Any]) -> ChatRequest:
    """The validated request; ``request.raw`` is the JSON object it came from.

    Raises:
        BadRequest: the body is not a JSON object, or a field is wrong (named in ``param``).
    """
    if isinstance(body, dict):
        raw = body
    else:
        try:
            raw = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise BadRequest(f"the request body is not valid JSON: {exc.msg}") from None
        if not isinstance(raw, dict):
            raise BadRequest("the request body must be a JSON object")
    try:
        request = ChatRequest.model_validate(raw)
    except ValidationError as exc:
        raise _bad_request(exc) from None
    request.__pydantic_private__["_raw"] = raw  # type: ignore[index]
    return request
