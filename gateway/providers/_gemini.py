"""Google Gemini upstreams (``generateContent`` / ``streamGenerateContent?alt=sse``).

System messages become ``systemInstruction``; the assistant is the ``model`` role; tool results
become ``functionResponse`` parts named after the call they answer (Gemini has no call ids, so
the gateway makes them up as ``call_<n>``).
"""

from __future__ import annotations

import re
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

__all__ = ["GeminiUpstream", "gemini_headers"]

_VERSIONED = re.compile(r"/v\d+(?:alpha|beta)?\d*(?:/|$)")  # e.g. /v1beta, /v1/publishers/google
FINISH = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
}


def gemini_headers(api_key: str | None) -> dict[str, str]:
    """Authentication headers of a Gemini provider."""
    headers = {"content-type": "application/json"}
    if api_key:
        headers["x-goog-api-key"] = api_key
    return headers


def _parts(content: str | list[ContentPart] | None) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts: list[dict[str, Any]] = []
    for part in content:
        if isinstance(part, TextPart) and part.text:
            parts.append({"text": part.text})
        elif isinstance(part, ImagePart):
            data = parse_data_url(part.image_url.url)
            if data is not None:
                parts.append({"inlineData": {"mimeType": data.mime, "data": data.data}})
            else:
                parts.append({"fileData": {"mimeType": "image/*", "fileUri": part.image_url.url}})
    return parts


def _append(contents: list[dict[str, Any]], role: str, parts: list[dict[str, Any]]) -> None:
    if not parts:
        return
    if contents and contents[-1]["role"] == role:
        contents[-1]["parts"].extend(parts)
    else:
        contents.append({"role": role, "parts": parts})


def _function_response(content: str) -> dict[str, Any]:
    try:
        value = orjson.loads(content)
    except orjson.JSONDecodeError:
        value = None
    return value if isinstance(value, dict) else {"content": content}


def _contents(request: ChatRequest) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    system: list[dict[str, Any]] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    for i, message in enumerate(request.messages):
        if isinstance(message, UserMessage):
            _append(contents, "user", _parts(message.content))
        elif isinstance(message, AssistantMessage):
            parts = _parts(message.content)
            for j, call in enumerate(message.tool_calls or ()):
                names[call.id] = call.function.name
                where = f"messages[{i}].tool_calls[{j}].function.arguments"
                parts.append(
                    {
                        "functionCall": {
                            "name": call.function.name,
                            "args": parse_arguments(call.function.arguments, where),
                        }
                    }
                )
            _append(contents, "model", parts)
        elif isinstance(message, ToolMessage):
            name = names.get(message.tool_call_id, message.tool_call_id)
            response = _function_response(text_of(message.content))
            _append(contents, "user", [{"functionResponse": {"name": name, "response": response}}])
        else:
            system.extend(_parts(message.content))
    return system, contents


def _generation_config(call: UpstreamCall) -> dict[str, Any]:
    request = call.request
    config: dict[str, Any] = {}
    pairs = (
        ("temperature", request.temperature),
        ("topP", request.top_p),
        ("maxOutputTokens", call.max_output_tokens),
        ("candidateCount", request.n),
        ("seed", request.seed),
        ("presencePenalty", request.presence_penalty),
        ("frequencyPenalty", request.frequency_penalty),
    )
    for name, value in pairs:
        if value is not None:
            config[name] = value
    if request.stop is not None:
        config["stopSequences"] = request.stop_list
    fmt = request.response_format
    if fmt is not None and fmt.type != "text":
        config["responseMimeType"] = "application/json"
        if fmt.json_schema is not None and fmt.json_schema.schema_ is not None:
            config["responseJsonSchema"] = fmt.json_schema.schema_
    return config


def _tool_config(request: ChatRequest) -> dict[str, Any] | None:
    choice = request.tool_choice
    if choice is None:
        return None
    if isinstance(choice, str):
        mode = {"auto": "AUTO", "required": "ANY", "none": "NONE"}[choice]
        return {"functionCallingConfig": {"mode": mode}}
    return {
        "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [choice.function.name]}
    }


def gemini_body(call: UpstreamCall) -> dict[str, Any]:
    """The ``generateContent`` request body for ``call``."""
    request = call.request
    system, contents = _contents(request)
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": system}
    config = _generation_config(call)
    if config:
        body["generationConfig"] = config
    if request.tools:
        declarations = []
        for tool in request.tools:
            declaration: dict[str, Any] = {"name": tool.function.name}
            if tool.function.description:
                declaration["description"] = tool.function.description
            if tool.function.parameters:
                declaration["parameters"] = tool.function.parameters
            declarations.append(declaration)
        body["tools"] = [{"functionDeclarations": declarations}]
    tool_config = _tool_config(request)
    if tool_config is not None:
        body["toolConfig"] = tool_config
    return body


def gemini_usage(usage: dict[str, Any]) -> TokenCounts:
    """Token counts from ``usageMetadata`` (thoughts are output tokens billed as reasoning)."""
    thoughts = usage.get("thoughtsTokenCount") or 0
    return TokenCounts(
        prompt=usage.get("promptTokenCount") or 0,
        completion=(usage.get("candidatesTokenCount") or 0) + thoughts,
        cached=usage.get("cachedContentTokenCount") or 0,
        reasoning=thoughts,
    )


def _call(part: dict[str, Any], index: int) -> dict[str, Any]:
    function = part["functionCall"]
    return {
        "id": function.get("id") or f"call_{index}",
        "type": "function",
        "function": {
            "name": function["name"],
            "arguments": orjson.dumps(function.get("args") or {}).decode(),
        },
    }


def _finish(candidate: dict[str, Any], has_calls: bool) -> str:
    reason = FINISH.get(candidate.get("finishReason") or "STOP", "stop")
    return "tool_calls" if has_calls and reason == "stop" else reason


class GeminiUpstream(HttpUpstream):
    """The Gemini ``generateContent`` wire family."""

    def build(self, call: UpstreamCall, stream: bool) -> tuple[str, bytes]:
        """``{api_base}/v1beta/models/{model}:generateContent`` (or the SSE stream) and body."""
        base = call.endpoint.base_url
        if not _VERSIONED.search(base):
            base += "/v1beta"
        method = "streamGenerateContent?alt=sse" if stream else "generateContent"
        return f"{base}/models/{call.model}:{method}", orjson.dumps(gemini_body(call))

    def parse(self, data: dict[str, Any], call: UpstreamCall) -> Completion:
        """A ``GenerateContentResponse`` as an OpenAI ``chat.completion``."""
        candidates = data.get("candidates") or []
        candidate: dict[str, Any] = candidates[0] if candidates else {"finishReason": "SAFETY"}
        parts = (candidate.get("content") or {}).get("parts") or []
        text = [p["text"] for p in parts if "text" in p and not p.get("thought")]
        thoughts = [p["text"] for p in parts if "text" in p and p.get("thought")]
        calls = [_call(p, i) for i, p in enumerate(q for q in parts if "functionCall" in q)]
        message: dict[str, Any] = {
            "role": "assistant",
            "content": "".join(text) if text else None,
            "refusal": None,
        }
        if calls:
            message["tool_calls"] = calls
        if thoughts:
            message["reasoning_content"] = "".join(thoughts)
        completion_id = "chatcmpl-" + str(data.get("responseId") or call.request_id)
        body = completion_body(
            completion_id, int(time.time()), call.model, message, _finish(candidate, bool(calls))
        )
        usage = data.get("usageMetadata")
        return Completion(body, gemini_usage(usage) if isinstance(usage, dict) else None)

    def translator(self, call: UpstreamCall) -> StreamTranslator:
        """Streamed ``GenerateContentResponse`` objects to OpenAI chunks."""
        return _GeminiStream(call.endpoint.provider, call.model, call.request_id)


class _GeminiStream:
    def __init__(self, provider: str, model: str, request_id: str) -> None:
        self.provider = provider
        self.model = model
        self.usage: TokenCounts | None = None
        self.done = False
        self._id = f"chatcmpl-{request_id}"
        self._created = int(time.time())
        self._calls = 0
        self._started = False

    def feed(self, event: str, data: bytes) -> list[dict[str, Any]]:
        try:
            return self._event(orjson.loads(data))
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            raise UpstreamFailure(
                self.provider, "malformed", f"{self.provider} sent a malformed stream event"
            ) from None

    def _event(self, payload: dict[str, Any]) -> list[dict[str, Any]]:
        if "error" in payload:
            error = payload["error"]
            detail = scrub(str(error.get("message") if isinstance(error, dict) else error))
            raise UpstreamFailure(
                self.provider, "midstream", f"{self.provider} stream failed: {detail}"
            )
        if isinstance(payload.get("usageMetadata"), dict):
            self.usage = gemini_usage(payload["usageMetadata"])
        chunks: list[dict[str, Any]] = []
        if not self._started:
            self._started = True
            if payload.get("responseId"):
                self._id = f"chatcmpl-{payload['responseId']}"
            chunks.append(self._chunk({"role": "assistant", "content": ""}))
        candidates = payload.get("candidates") or []
        if not candidates:
            return chunks
        candidate = candidates[0]
        for part in (candidate.get("content") or {}).get("parts") or []:
            if "functionCall" in part:
                call = _call(part, self._calls) | {"index": self._calls}
                self._calls += 1
                chunks.append(self._chunk({"tool_calls": [call]}))
            elif "text" in part:
                key = "reasoning_content" if part.get("thought") else "content"
                chunks.append(self._chunk({key: part["text"]}))
        if candidate.get("finishReason"):
            chunks.append(self._chunk({}, _finish(candidate, self._calls > 0)))
        return chunks

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return make_chunk(self._id, self._created, self.model, delta, finish)

    def finish(self) -> list[dict[str, Any]]:
        return []
