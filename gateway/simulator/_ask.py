"""A request in family-neutral form: what every wire format is parsed into.

Messages are kept OpenAI-shaped, since that is what :func:`gateway.tokenizer.count_prompt_tokens`
counts; Anthropic and Gemini requests are converted to that shape on the way in.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

__all__ = ["Ask", "AskError", "ToolSpec", "ask_error", "require_base64", "text_of"]


class AskError(ValueError):
    """The request is malformed; the message names the field at fault."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


def ask_error(exc: ValidationError) -> AskError:
    """The first problem pydantic found, as one line naming the field."""
    error = exc.errors()[0]
    field = ".".join(str(part) for part in error["loc"]) or "body"
    return AskError(f"{field}: {error['msg']}", param=field)


def require_base64(data: Any, field: str) -> None:
    """Raise :class:`AskError` unless ``data`` is non-empty base64 (as image sources must be)."""
    try:
        if not isinstance(data, str) or not data or not base64.b64decode(data, validate=True):
            raise ValueError
    except ValueError:  # binascii.Error is one
        raise AskError(f"{field}: image data is not valid base64", param=field) from None


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """One offered tool."""

    name: str
    description: str
    schema: Mapping[str, Any]


def text_of(content: Any) -> str:
    """The text of an OpenAI message ``content`` (a string or a list of parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "\n".join(
        part["text"] for part in content if isinstance(part, Mapping) and "text" in part
    )


@dataclass(frozen=True, slots=True)
class Ask:
    """What a request asks for, whatever wire format it came in."""

    family: str
    provider: str
    model: str
    messages: Sequence[Mapping[str, Any]]
    tools: tuple[ToolSpec, ...] = ()
    # "auto", "none", "required", or the name of the one tool the caller forces
    tool_choice: str = "auto"
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    n: int = 1
    stream: bool = False
    # OpenAI's stream_options.include_usage: a last chunk with the usage and no choices
    include_usage: bool = False

    def openai_tools(self) -> list[dict[str, Any]] | None:
        """The offered tools in the OpenAI shape the token counter reads."""
        if not self.tools:
            return None
        return [
            {
                "type": "function",
                "function": {"name": t.name, "description": t.description, "parameters": t.schema},
            }
            for t in self.tools
        ]

    def last_user_text(self) -> str:
        """The text of the last user message (where control markers are read)."""
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return text_of(message.get("content"))
        return ""

    def trailing_tool_result(self) -> str | None:
        """The last tool result, if one follows the last user message."""
        for message in reversed(self.messages):
            role = message.get("role")
            if role == "tool":
                return text_of(message.get("content"))
            if role == "user":
                return None
        return None

    def tool_to_call(self) -> ToolSpec | None:
        """The tool the reply calls, or None when the reply is text."""
        if not self.tools or self.tool_choice == "none":
            return None
        if self.tool_choice == "auto":
            return None if self.trailing_tool_result() is not None else self.tools[0]
        if self.tool_choice == "required":
            return self.tools[0]
        for tool in self.tools:
            if tool.name == self.tool_choice:
                return tool
        raise AskError(f"tool_choice names {self.tool_choice!r}, which is not offered")
