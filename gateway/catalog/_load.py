"""Reading a catalog file into the core types, fast (it runs at every server and CLI start)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from gateway.catalog._dump import FORMAT
from gateway.core import Catalog, ModelEntry, Offer, Prices, ProviderEntry
from gateway.core.catalog import Protocol
from gateway.errors import ConfigError

__all__ = ["CATALOG_PATH", "load_catalog"]

CATALOG_PATH = Path(__file__).parent / "data" / "catalog.json"
_PROTOCOLS: dict[str, Protocol] = {"openai": "openai", "anthropic": "anthropic", "google": "google"}


def _provider(provider_id: str, raw: dict[str, Any]) -> ProviderEntry:
    protocol = _PROTOCOLS.get(raw["protocol"])
    if protocol is None:
        raise ValueError(f"unknown protocol {raw['protocol']!r}")
    return ProviderEntry(
        id=provider_id,
        name=raw["name"],
        protocol=protocol,
        api_base=raw["api_base"],
        env_var=raw.get("env_var"),
    )


def _offer(raw: dict[str, Any]) -> Offer:
    return Offer(
        provider=raw["provider"],
        provider_model_id=raw["provider_model_id"],
        prices=Prices(**raw["prices"]),
        max_output_tokens=raw.get("max_output_tokens"),
        requests_per_minute=raw.get("requests_per_minute"),
    )


def _model(model_id: str, raw: dict[str, Any], providers: dict[str, ProviderEntry]) -> ModelEntry:
    offers = tuple(_offer(offer) for offer in raw["offers"])
    for offer in offers:
        if offer.provider not in providers:
            raise ValueError(f"unknown provider {offer.provider!r}")
    return ModelEntry(
        id=model_id,
        name=raw["name"],
        offers=offers,
        max_input_tokens=raw.get("max_input_tokens"),
        max_output_tokens=raw.get("max_output_tokens"),
        input_modalities=tuple(raw.get("input_modalities", ("text",))),
    )


def _parse(raw: dict[str, Any], where: Path) -> Catalog:
    if raw.get("format") != FORMAT:
        raise ConfigError(f"model catalog {where}: unsupported format {raw.get('format')!r}")
    providers: dict[str, ProviderEntry] = {}
    models: list[ModelEntry] = []
    section, key = "providers", ""
    try:
        for key, entry in raw["providers"].items():
            providers[key] = _provider(key, entry)
        section = "models"
        for key, entry in raw["models"].items():
            models.append(_model(key, entry, providers))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        detail = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ConfigError(f"model catalog {where}: bad entry {section}.{key}: {detail}") from None
    return Catalog.build(models, list(providers.values()))


def load_catalog(path: Path | None = None) -> Catalog:
    """The catalog in ``path``, by default the one shipped in the package (``CATALOG_PATH``).

    Raises:
        ConfigError: the file is missing, unreadable or not a catalog.
    """
    where = CATALOG_PATH if path is None else path
    try:
        raw = orjson.loads(where.read_bytes())
    except OSError as exc:
        raise ConfigError(f"cannot read model catalog {where}: {exc.strerror}") from None
    except orjson.JSONDecodeError as exc:
        raise ConfigError(f"model catalog {where} is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"model catalog {where} is not a JSON object")
    return _parse(raw, where)
