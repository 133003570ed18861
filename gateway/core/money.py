"""Money: integer micro-USD (µUSD = USDC base units) and per-token prices.

Prices arrive as USD per 1M tokens (floats in the catalog files). They are converted once, at
catalog load, to integer µUSD per 1M tokens; from there on no float touches money. The cost of a
call is rounded up so the gateway never undercharges by rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

__all__ = ["MICRO_USD_PER_USD", "Prices", "TokenCounts", "cost_micro_usd", "usd"]

MICRO_USD_PER_USD = 1_000_000
_PER = 1_000_000  # prices are per one million tokens


def usd(amount: float | str | Decimal) -> int:
    """USD (as written in a price table) → integer µUSD, rounded up."""
    value = Decimal(str(amount)) * MICRO_USD_PER_USD
    return int(value.to_integral_value(rounding=ROUND_CEILING))


@dataclass(frozen=True, slots=True)
class Prices:
    """Unit prices of one offer, in µUSD per 1M tokens."""

    input: int
    output: int
    cache_read: int | None = None
    cache_write: int | None = None
    reasoning: int | None = None

    def to_dict(self) -> dict[str, int]:
        """The prices as a JSON-ready mapping (absent prices omitted)."""
        out = {"input": self.input, "output": self.output}
        for name in ("cache_read", "cache_write", "reasoning"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


@dataclass(frozen=True, slots=True)
class TokenCounts:
    """Tokens of one call, split the way prices are.

    ``prompt`` counts every input token including cached ones; ``cached`` and ``cache_write``
    are the parts of ``prompt`` read from or written to a prompt cache. ``completion`` counts
    every output token including ``reasoning`` ones.
    """

    prompt: int = 0
    completion: int = 0
    cached: int = 0
    cache_write: int = 0
    reasoning: int = 0


def cost_micro_usd(prices: Prices, tokens: TokenCounts) -> int:
    """The cost of ``tokens`` at ``prices`` in µUSD, rounded up once over the whole call."""
    cache_read = prices.cache_read if prices.cache_read is not None else prices.input
    cache_write = prices.cache_write if prices.cache_write is not None else prices.input
    reasoning = prices.reasoning if prices.reasoning is not None else prices.output
    plain_in = max(0, tokens.prompt - tokens.cached - tokens.cache_write)
    plain_out = max(0, tokens.completion - tokens.reasoning)
    scaled = (
        plain_in * prices.input
        + tokens.cached * cache_read
        + tokens.cache_write * cache_write
        + plain_out * prices.output
        + tokens.reasoning * reasoning
    )
    return -(-scaled // _PER)
