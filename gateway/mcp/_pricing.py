"""The price of an upstream tool call: per call, plus optionally per KiB of returned content."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.settings import McpServerSettings

__all__ = ["ToolPrice", "price_of"]

_KIB = 1024


@dataclass(frozen=True, slots=True)
class ToolPrice:
    """What one call of a tool costs, in µUSD."""

    per_call: int
    per_kb: int

    def reservation(self, max_result_bytes: int) -> int:
        """The most a call can cost: the per-call price plus the largest result allowed."""
        return self.cost(max_result_bytes)

    def cost(self, result_bytes: int) -> int:
        """The charge for a call that returned ``result_bytes``, rounded up (never under)."""
        return self.per_call + -(-result_bytes * self.per_kb // _KIB)

    def to_dict(self) -> dict[str, Any]:
        """Wire form, shown in tool listings."""
        return {"per_call_micro_usd": self.per_call, "per_kb_micro_usd": self.per_kb}


def price_of(server: McpServerSettings, tool: str) -> ToolPrice:
    """The configured price of ``tool`` (the server's own name for it)."""
    return ToolPrice(
        per_call=server.prices.get(tool, server.default_price),
        per_kb=server.prices_per_kb.get(tool, server.price_per_kb),
    )
