"""What one upstream offers: its tools, resources, templates and prompts, every page fetched."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import mcp_types as types
from mcp import Client

__all__ = ["Lists", "fetch_lists"]

_PAGE_CAP = 100  # a server whose cursor never ends cannot hang a refresh
_T = TypeVar("_T")
_P = TypeVar("_P")


@dataclass(frozen=True)
class Lists:
    """What a server offers, as last fetched (tools already filtered by the allowlist)."""

    tools: tuple[types.Tool, ...] = ()
    hidden_tools: frozenset[str] = frozenset()
    resources: tuple[types.Resource, ...] = ()
    templates: tuple[types.ResourceTemplate, ...] = ()
    prompts: tuple[types.Prompt, ...] = ()


async def _pages(
    fetch: Callable[[str | None], Awaitable[_P]], items: Callable[[_P], list[_T]]
) -> list[_T]:
    found: list[_T] = []
    cursor: str | None = None
    for _ in range(_PAGE_CAP):
        page = await fetch(cursor)
        found.extend(items(page))
        cursor = getattr(page, "next_cursor", None)
        if cursor is None:
            break
    return found


async def fetch_lists(client: Client, allows: Callable[[str], bool]) -> Lists:
    """Everything the connected server offers (what its capabilities announce); tools that
    ``allows`` refuses are kept only as names, to say why they are not offered."""
    caps = client.server_capabilities
    tools: list[types.Tool] = []
    resources: list[types.Resource] = []
    templates: list[types.ResourceTemplate] = []
    prompts: list[types.Prompt] = []
    if caps.tools is not None:
        tools = await _pages(lambda c: client.list_tools(cursor=c), lambda p: p.tools)
    if caps.resources is not None:
        resources = await _pages(lambda c: client.list_resources(cursor=c), lambda p: p.resources)
        templates = await _pages(
            lambda c: client.list_resource_templates(cursor=c), lambda p: p.resource_templates
        )
    if caps.prompts is not None:
        prompts = await _pages(lambda c: client.list_prompts(cursor=c), lambda p: p.prompts)
    offered = tuple(t for t in tools if allows(t.name))
    return Lists(
        tools=offered,
        hidden_tools=frozenset(t.name for t in tools) - {t.name for t in offered},
        resources=tuple(resources),
        templates=tuple(templates),
        prompts=tuple(prompts),
    )
