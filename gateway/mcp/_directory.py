"""What the face offers: the gateway's own tools and every upstream's offer, namespaced.

Built on demand from the upstreams' last-known lists, so a refresh is visible to the next
request on its own. Lookups name what is wrong when they fail: an unknown server, a tool the
server does not have, a tool the operator's allowlist does not offer.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import mcp_types as types

from gateway.errors import Forbidden, NotFound
from gateway.mcp._names import qualify, split
from gateway.mcp._own_tools import OWN_TOOLS
from gateway.mcp._pricing import ToolPrice, price_of

if TYPE_CHECKING:  # the upstreams bring the SDK's client; a listing needs only the wire types
    from gateway.mcp._upstream import Upstream

__all__ = ["PRICE_META", "SERVER_META", "Directory", "OfferedTool"]

PRICE_META = "bitrouter/price"
SERVER_META = "bitrouter/server"
_OWN = {t.name: t for t in OWN_TOOLS}


@dataclass(frozen=True)
class OfferedTool:
    """One tool as offered at ``/mcp``."""

    name: str
    tool: types.Tool
    upstream: Upstream | None = None
    original: str | None = None
    price: ToolPrice | None = None

    def describe(self) -> dict[str, Any]:
        """The entry of ``GET /v1/tools``."""
        server = self.upstream.name if self.upstream is not None else None
        available = self.upstream is None or self.upstream.status().connected
        return {
            "name": self.name,
            "description": self.tool.description or "",
            "server": server,
            "price": self.price.to_dict() if self.price is not None else None,
            "available": available,
        }


def _offered(upstream: Upstream, tool: types.Tool) -> OfferedTool:
    price = price_of(upstream.settings, tool.name)
    name = qualify(upstream.name, tool.name)
    meta = {**(tool.meta or {}), PRICE_META: price.to_dict(), SERVER_META: upstream.name}
    shown = tool.model_copy(update={"name": name, "meta": meta})
    return OfferedTool(name=name, tool=shown, upstream=upstream, original=tool.name, price=price)


class Directory:
    """Every tool, resource and prompt of the face, by namespaced name."""

    def __init__(self, upstreams: Mapping[str, Upstream]) -> None:
        self._upstreams = upstreams

    def tools(self) -> Iterator[OfferedTool]:
        """The gateway's tools, then each upstream's (in settings order)."""
        for tool in OWN_TOOLS:
            yield OfferedTool(name=tool.name, tool=tool)
        for upstream in self._upstreams.values():
            for tool in upstream.lists.tools:
                yield _offered(upstream, tool)

    def tool(self, name: str) -> OfferedTool:
        """The tool called ``name``.

        Raises:
            NotFound: no such tool.
            Forbidden: the server has it but the operator's allowlist does not offer it.
        """
        if name in _OWN:
            return OfferedTool(name=name, tool=_OWN[name])
        upstream, original = self.upstream_of(name, "tool")
        for tool in upstream.lists.tools:
            if tool.name == original:
                return _offered(upstream, tool)
        if original in upstream.lists.hidden_tools:
            raise Forbidden(
                f"tool {name!r} is not offered: it is outside the 'tools' allowlist of MCP server "
                f"'{upstream.name}' in the gateway's settings",
                code="tool_not_offered",
            )
        raise NotFound(
            f"MCP server '{upstream.name}' has no tool {original!r}", code="unknown_tool"
        )

    def upstream_of(self, name: str, kind: str) -> tuple[Upstream, str]:
        """The upstream and its own name for the namespaced ``name`` (a tool, prompt or URI).

        Raises:
            NotFound: not namespaced, or no server of that name.
        """
        parts = split(name)
        if parts is None:
            raise NotFound(
                f"unknown {kind} {name!r} (upstream names look like 'server__name')",
                code=f"unknown_{kind}",
            )
        server, original = parts
        upstream = self._upstreams.get(server)
        if upstream is None:
            raise NotFound(
                f"unknown {kind} {name!r}: no MCP server named {server!r}", code=f"unknown_{kind}"
            )
        return upstream, original

    def resource_owner(self, uri: str) -> tuple[Upstream, str]:
        """Route a resource URI: ``server__uri``, or an upstream's own URI it listed.

        Raises:
            NotFound: no server offers it.
        """
        if (parts := split(uri)) is not None and parts[0] in self._upstreams:
            return self._upstreams[parts[0]], parts[1]
        # Tool results may carry an upstream's own resource links; route those by its list.
        for upstream in self._upstreams.values():
            if any(r.uri == uri for r in upstream.lists.resources):
                return upstream, uri
        raise NotFound(f"unknown resource {uri!r}", code="unknown_resource")

    def resources(self) -> list[types.Resource]:
        """Every upstream's resources, namespaced."""
        return [
            r.model_copy(update={"name": qualify(u.name, r.name), "uri": qualify(u.name, r.uri)})
            for u in self._upstreams.values()
            for r in u.lists.resources
        ]

    def templates(self) -> list[types.ResourceTemplate]:
        """Every upstream's resource templates, namespaced."""
        return [
            t.model_copy(
                update={
                    "name": qualify(u.name, t.name),
                    "uri_template": qualify(u.name, t.uri_template),
                }
            )
            for u in self._upstreams.values()
            for t in u.lists.templates
        ]

    def prompts(self) -> list[types.Prompt]:
        """Every upstream's prompts, namespaced."""
        return [
            p.model_copy(update={"name": qualify(u.name, p.name)})
            for u in self._upstreams.values()
            for p in u.lists.prompts
        ]

    def unavailable(self) -> dict[str, str]:
        """Servers that are down now, with why (listed in ``tools/list``'s ``_meta``)."""
        return {
            u.name: u.status().error or "not connected"
            for u in self._upstreams.values()
            if not u.status().connected
        }
