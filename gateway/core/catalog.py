"""The model catalog: which models exist, which providers serve them, and at what prices.

Model ids are canonical in ``vendor/model`` form; ``vendor:model`` is accepted everywhere as a
synonym (:func:`normalize_model_id`). A provider's *protocol* is its wire family: ``openai``
(Chat Completions and every compatible server), ``anthropic`` (Messages) or ``google`` (Gemini).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

from gateway.core.money import Prices

__all__ = [
    "Catalog",
    "ModelEntry",
    "Offer",
    "Protocol",
    "ProviderEntry",
    "normalize_model_id",
]

Protocol = Literal["openai", "anthropic", "google"]


def normalize_model_id(model: str) -> str:
    """``vendor:model`` → ``vendor/model``; other ids are returned as they are."""
    if "/" not in model and ":" in model:
        vendor, _, rest = model.partition(":")
        return f"{vendor}/{rest}"
    return model


@dataclass(frozen=True, slots=True)
class ProviderEntry:
    """A provider: where it lives, its wire family, and the variable holding its key."""

    id: str
    name: str
    protocol: Protocol
    api_base: str
    env_var: str | None


@dataclass(frozen=True, slots=True)
class Offer:
    """One provider serving one model at its prices."""

    provider: str
    provider_model_id: str
    prices: Prices
    max_output_tokens: int | None = None
    requests_per_minute: int | None = None


@dataclass(frozen=True, slots=True)
class ModelEntry:
    """A model and every offer for it."""

    id: str
    name: str
    offers: tuple[Offer, ...]
    max_input_tokens: int | None = None
    max_output_tokens: int | None = None
    input_modalities: tuple[str, ...] = ("text",)

    def offer(self, provider: str) -> Offer | None:
        """The offer of ``provider`` for this model, if it has one."""
        for offer in self.offers:
            if offer.provider == provider:
                return offer
        return None


@dataclass(frozen=True)
class Catalog:
    """Every known model and provider, immutable once loaded."""

    models: Mapping[str, ModelEntry]
    providers: Mapping[str, ProviderEntry]
    _by_lower: Mapping[str, str] = field(default_factory=dict, repr=False)

    def get(self, model: str) -> ModelEntry | None:
        """The model for ``model`` (either id form, case-insensitive), if known."""
        key = normalize_model_id(model)
        entry = self.models.get(key)
        if entry is None:
            canonical = self._by_lower.get(key.lower())
            entry = self.models.get(canonical) if canonical else None
        return entry

    def __iter__(self) -> Iterator[ModelEntry]:
        return iter(self.models.values())

    def __len__(self) -> int:
        return len(self.models)

    @classmethod
    def build(cls, models: list[ModelEntry], providers: list[ProviderEntry]) -> Catalog:
        """A catalog from lists, indexed for lookup."""
        by_id = {m.id: m for m in models}
        return cls(
            models=by_id,
            providers={p.id: p for p in providers},
            _by_lower={k.lower(): k for k in by_id},
        )
