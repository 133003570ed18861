"""Models that settings add to the catalog (``providers.<id>.models``), e.g. a local server's."""

from __future__ import annotations

from gateway.core import Catalog, ModelEntry, Offer, Prices, ProviderEntry, usd
from gateway.core.catalog import normalize_model_id
from gateway.settings import Settings

__all__ = ["with_configured_models"]


def with_configured_models(catalog: Catalog, settings: Settings) -> Catalog:
    """``catalog`` plus the models and providers declared in settings (unchanged if none).

    A model key is the id callers use; ``model`` (default: the key) is the provider's own id.
    """
    models = dict(catalog.models)
    providers = dict(catalog.providers)
    changed = False
    for pid, config in settings.providers.items():
        if pid not in providers and config.api_base:
            providers[pid] = ProviderEntry(
                pid, pid, config.protocol or "openai", config.api_base, None
            )
            changed = True
        for key, declared in config.models.items():
            model_id = normalize_model_id(key)
            offer = Offer(
                provider=pid,
                provider_model_id=declared.model or key,
                prices=Prices(input=usd(declared.input_price), output=usd(declared.output_price)),
                max_output_tokens=declared.max_output_tokens,
            )
            entry = models.get(model_id) or catalog.get(model_id)
            if entry is None:
                models[model_id] = ModelEntry(
                    model_id, key, (offer,), max_output_tokens=declared.max_output_tokens
                )
            elif entry.offer(pid) is None:
                models[entry.id] = ModelEntry(
                    entry.id,
                    entry.name,
                    (*entry.offers, offer),
                    entry.max_input_tokens,
                    entry.max_output_tokens,
                    entry.input_modalities,
                )
            else:
                continue
            changed = True
    if not changed:
        return catalog
    return Catalog.build(list(models.values()), list(providers.values()))
