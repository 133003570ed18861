"""Namespacing: an upstream's ``tool`` is offered as ``server__tool``.

Prompts, resource names and resource URIs (and URI templates) are prefixed the same way, so
one rule routes every request back to its server. Server names cannot contain ``__`` (the
settings refuse it), so splitting at the first ``__`` is unambiguous.
"""

from __future__ import annotations

__all__ = ["SEPARATOR", "qualify", "split"]

SEPARATOR = "__"


def qualify(server: str, name: str) -> str:
    """``server__name``."""
    return f"{server}{SEPARATOR}{name}"


def split(qualified: str) -> tuple[str, str] | None:
    """``(server, name)`` of ``server__name``, or None when it is not namespaced."""
    server, sep, name = qualified.partition(SEPARATOR)
    if not sep or not server or not name:
        return None
    return server, name
