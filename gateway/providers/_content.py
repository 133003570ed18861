"""Reading OpenAI message content for the families that need it in another shape."""

from __future__ import annotations

from typing import Any

import orjson

from gateway.errors import BadRequest
from gateway.openai_wire import ContentPart, ImagePart, TextPart

__all__ = ["DataUrl", "images_of", "parse_arguments", "parse_data_url", "text_of"]


class DataUrl:
    """A ``data:<mime>;base64,<data>`` URL, split."""

    __slots__ = ("data", "mime")

    def __init__(self, mime: str, data: str) -> None:
        self.mime = mime
        self.data = data


def parse_data_url(url: str) -> DataUrl | None:
    """The parts of a base64 ``data:`` URL, or None for any other URL."""
    if not url.startswith("data:"):
        return None
    header, sep, data = url[5:].partition(",")
    if not sep or not header.endswith(";base64"):
        return None
    return DataUrl(header[: -len(";base64")] or "application/octet-stream", data)


def text_of(content: str | list[ContentPart] | None) -> str:
    """The text of a message's content (non-text parts skipped)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(part.text for part in content if isinstance(part, TextPart))


def images_of(content: str | list[ContentPart] | None) -> list[ImagePart]:
    """The image parts of a message's content."""
    if content is None or isinstance(content, str):
        return []
    return [part for part in content if isinstance(part, ImagePart)]


def parse_arguments(arguments: str, where: str) -> dict[str, Any]:
    """A tool call's JSON arguments as an object (an empty string gives ``{}``).

    Raises:
        BadRequest: the arguments are not a JSON object (``where`` names the field).
    """
    if not arguments.strip():
        return {}
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise BadRequest(f"{where}: tool call arguments must be a JSON object", param=where)
    return value
