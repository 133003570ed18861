"""A binding price quote: the provider, its unit prices and the most a call may cost."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import orjson

from gateway.core import Prices

__all__ = ["Quote"]


@dataclass(frozen=True, slots=True)
class Quote:
    """A price promised to one identity for one call, valid until ``expires_at`` (unix s).

    ``prompt_digest`` identifies the quoted prompt, so a redeeming request with another prompt
    can be recounted before the quoted maximum is trusted.
    """

    id: str
    identity: str
    model: str
    provider: str
    provider_model_id: str
    protocol: str
    simulated: bool
    prices: Prices
    prompt_tokens: int
    max_output_tokens: int
    max_cost_micro_usd: int
    estimated_cost_micro_usd: int
    created_at: int
    expires_at: int
    tokenizer: str
    prompt_digest: str

    @property
    def provider_label(self) -> str:
        """The provider as shown to callers."""
        return f"{self.provider} (simulated)" if self.simulated else self.provider

    def to_dict(self) -> dict[str, Any]:
        """The quote as the HTTP face shows it (``POST /v1/quotes``)."""
        return {
            "id": self.id,
            "object": "quote",
            "model": self.model,
            "provider": self.provider_label,
            "provider_id": self.provider,
            "provider_model_id": self.provider_model_id,
            "simulated": self.simulated,
            "prices_micro_usd_per_mtok": self.prices.to_dict(),
            "input_tokens": self.prompt_tokens,
            "max_output_tokens": self.max_output_tokens,
            "max_cost_micro_usd": self.max_cost_micro_usd,
            "estimated_cost_micro_usd": self.estimated_cost_micro_usd,
            "tokenizer": self.tokenizer,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
        }

    def to_json(self) -> bytes:
        """The quote as stored."""
        return orjson.dumps(asdict(self))

    @classmethod
    def from_json(cls, blob: bytes) -> Quote:
        """A stored quote."""
        data = orjson.loads(blob)
        data["prices"] = Prices(**data["prices"])
        return cls(**data)
