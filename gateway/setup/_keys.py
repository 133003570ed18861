"""Which provider keys a Bring-Your-Own-Key setup can use: the catalog's key variables, found in
the environment or the home's ``.env``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from gateway.core import Catalog

__all__ = ["FEATURED_PROVIDERS", "ProviderKey", "provider_keys"]

# The providers the wizard always asks about (the product names them); others are only detected.
FEATURED_PROVIDERS = ("openai", "anthropic", "google")

KeySource = Literal["environment", ".env", "typed"]


@dataclass(frozen=True, slots=True)
class ProviderKey:
    """One catalog provider's key variable, and its value if one was found or typed."""

    provider: str
    name: str
    env_var: str
    value: str | None = None
    source: KeySource | None = None

    @property
    def featured(self) -> bool:
        """Whether the wizard asks for this key when it is missing."""
        return self.provider in FEATURED_PROVIDERS

    def typed(self, value: str) -> ProviderKey:
        """This key with a value the user typed."""
        return ProviderKey(self.provider, self.name, self.env_var, value, "typed")


def provider_keys(
    catalog: Catalog, environ: Mapping[str, str], dotenv: Mapping[str, str]
) -> list[ProviderKey]:
    """Every catalog provider with a key variable: the featured ones first, then by id."""
    found: list[ProviderKey] = []
    for entry in catalog.providers.values():
        if not entry.env_var:
            continue
        source: KeySource | None = None
        value = environ.get(entry.env_var) or None
        if value is not None:
            source = "environment"
        elif dotenv.get(entry.env_var):
            value, source = dotenv[entry.env_var], ".env"
        found.append(ProviderKey(entry.id, entry.name, entry.env_var, value, source))

    def order(key: ProviderKey) -> tuple[int, str]:
        featured = FEATURED_PROVIDERS.index(key.provider) if key.featured else 99
        return featured, key.provider

    return sorted(found, key=order)
