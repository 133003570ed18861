"""Glob allowlists of a token: ``models`` (model ids) and ``tools`` (MCP tool names).

A model id is written ``vendor/model`` or ``vendor:model``; both spellings name one model, so
ids and patterns are compared in one canonical form (the first separator becomes ``/``,
letters are lower-cased). A pattern whose vendor part is itself a glob (``*:free``) is left as
written, so its separator stays literal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from fnmatch import fnmatchcase

__all__ = ["canonical_model_id", "model_allowed", "tool_allowed"]

_FIRST_SEPARATOR = re.compile("[/:]")
_GLOB_CHARS = frozenset("*?[")


def canonical_model_id(text: str) -> str:
    """``vendor:model`` and ``vendor/model`` both become ``vendor/model`` (lower case)."""
    lowered = text.lower()
    match = _FIRST_SEPARATOR.search(lowered)
    if match is None or _GLOB_CHARS & set(lowered[: match.start()]):
        return lowered
    return f"{lowered[: match.start()]}/{lowered[match.end() :]}"


def model_allowed(patterns: Iterable[str] | None, model_id: str) -> bool:
    """Whether ``model_id`` matches one of ``patterns`` (``None``: no allowlist, all allowed)."""
    if patterns is None:
        return True
    wanted = canonical_model_id(model_id)
    return any(fnmatchcase(wanted, canonical_model_id(p)) for p in patterns)


def tool_allowed(patterns: Iterable[str] | None, tool_name: str) -> bool:
    """Whether ``tool_name`` matches one of ``patterns`` (``None``: all allowed)."""
    if patterns is None:
        return True
    return any(fnmatchcase(tool_name, p) for p in patterns)
