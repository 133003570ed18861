"""Core types and rules: money, prices, the catalog, usage records. No I/O, no framework."""

from gateway.core.catalog import Catalog, ModelEntry, Offer, ProviderEntry, normalize_model_id
from gateway.core.money import MICRO_USD_PER_USD, Prices, TokenCounts, cost_micro_usd, usd

__all__ = [
    "MICRO_USD_PER_USD",
    "Catalog",
    "ModelEntry",
    "Offer",
    "Prices",
    "ProviderEntry",
    "TokenCounts",
    "cost_micro_usd",
    "normalize_model_id",
    "usd",
]
