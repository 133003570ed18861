"""Build the shipped model catalog ``gateway/catalog/data/catalog.json`` from the public data.

Usage: ``.venv/bin/python scripts/build_catalog.py [--data ../shared/data] [--out PATH]``

Sources (see the data folder's README): ``catalog-2026-05/*.yaml``, one file per provider, and the
newer ``registry-2026-08/{providers,models}.json``. The same data always gives the same bytes.

Providers
  * A yaml file's stem and a registry id are provider ids; the same id in both is the same
    provider, and the registry's fields win (api_base, protocol and key variable together).
  * Kept: providers reached with a plain API key and billed per token (registry ``access:
    api_key``, ``billing: usage_token``, ``status: active``; yaml files without an ``auth``
    block). Skipped: OAuth and subscription logins (github-copilot, claude-code, openai-codex,
    google-ai, supergrok) and flat-rate plans (opencode-go, *_coding_plan, *_token_plan*),
    because the gateway charges per token and cannot price a call made on them; providers whose
    api_base needs per-account values such as ``${AWS_REGION}`` (aws-bedrock, azure); staging.
  * protocol: the wire family the api_base itself speaks. Families that ``protocol_endpoints``
    serve at another URL are not spoken by the api_base; of the rest, ``openai`` wins when
    listed (an OpenAI-compatible base that also lists other families), else ``anthropic``
    (Anthropic's own API, MiniMax's base), else ``google`` (Gemini's native API); a provider
    speaking none of the three (e.g. only ``responses``) is skipped.
  * api_base: the URL the protocol's path is appended to (``/chat/completions``, ``/messages``,
    ``/models/{id}:generateContent``).
  * env_var: the registry's ``auth.env`` if it ends in ``_API_KEY`` (e.g. ``GEMINI_API_KEY``),
    else the yaml's ``<env_prefix>_API_KEY``, else the id in upper snake case + ``_API_KEY``.

Models
  * Canonical ids are ``vendor/model`` in lower case, as the data writes them. Registry offers
    already name their canonical id; yaml files in ``vendor/model`` form (bitrouter, openrouter)
    too. A provider-specific id (``kimi-k2.5``, ``claude-sonnet-4-20250514``) is mapped with the
    provider's vendor (moonshot→moonshotai, zai→z-ai, …; mixed providers by the id's prefix,
    else the provider id): an existing id equal to it, or to it without a ``-YYYYMMDD``,
    ``-YYYY-MM-DD`` or ``-latest`` suffix, reading ``4-5`` as ``4.5`` and ``4-0`` as ``4``
    (Anthropic writes versions with dashes); else the registry's id for the same provider and
    wire id; else a new ``vendor/<wire id>``. When several wire ids of one provider map to one
    model, the exact one wins, then an alias, then the newest snapshot; the others keep their
    own ``vendor/<wire id>`` entry. The wire id is kept on the offer.
  * Not chat models (embeddings, speech, realtime, image-only output) are left out.
  * Model facts (name, limits, input modalities) come, field by field, from the registry, then
    the vendor's own provider, then openrouter, then bitrouter, then any other provider.
  * An offer's max_output_tokens is written only where it differs from the model's.

Prices
  * USD per 1M tokens become integer µUSD per 1M tokens with ``gateway.core.money.usd`` (rounded
    up). Where the same provider serves the same model (the same wire id, or the same canonical
    id) in both sources, the registry's offer wins: prices, wire id and rate limit.
  * Context tiers (higher prices above N input tokens) are not modelled: the base tier is kept.
  * Offers without prices are dropped; a model without offers is dropped.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from gateway.catalog import CATALOG_PATH, dumps_catalog  # noqa: E402
from gateway.core import Catalog, ModelEntry, Offer, Prices, ProviderEntry, usd  # noqa: E402
from gateway.core.catalog import Protocol  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data"
_PROTOCOLS: dict[str, Protocol] = {"openai": "openai", "anthropic": "anthropic", "google": "google"}
# The vendor of every model in a first-party provider's file.
_VENDORS = {
    "anthropic": "anthropic",
    "deepseek": "deepseek",
    "google": "google",
    "minimax": "minimax",
    "moonshot": "moonshotai",
    "openai": "openai",
    "qwen": "qwen",
    "zai": "z-ai",
}
# Mixed providers: the vendor by the wire id's prefix.
_PREFIXES = (
    (re.compile(r"claude"), "anthropic"),
    (re.compile(r"gpt-|o\d"), "openai"),
    (re.compile(r"gemini|gemma"), "google"),
    (re.compile(r"glm"), "z-ai"),
    (re.compile(r"kimi"), "moonshotai"),
    (re.compile(r"qwen|qwq|qvq"), "qwen"),
    (re.compile(r"deepseek"), "deepseek"),
    (re.compile(r"minimax"), "minimax"),
    (re.compile(r"grok"), "x-ai"),
    (re.compile(r"mimo"), "xiaomi"),
    (re.compile(r"nemotron"), "nvidia"),
)
# Display names the data lacks (yaml-only providers) or words oddly (the registry's "google").
_NAMES = {
    "google": "Google Gemini API",
    "moonshot": "Moonshot AI (China)",
    "qwen": "Alibaba DashScope (Qwen)",
}
_DATE = re.compile(r"-(\d{8}|\d{4}-\d{2}-\d{2})$")
_DASHED_VERSION = re.compile(r"(?<=-)(\d)-(\d)(?=-|$)")
_NOT_CHAT = re.compile(r"(^|[-/])(embedding|tts|realtime|live|asr)(-|$)")
_META_FIELDS = ("name", "max_input_tokens", "max_output_tokens", "input_modalities")


@dataclass(frozen=True)
class _Found:
    """One provider's offer for one model, before merging."""

    model: str
    offer: Offer
    rank: tuple[int, int]  # among one provider's wire ids for one model, the lowest wins
    meta: dict[str, Any]
    meta_rank: int


# ---- providers -------------------------------------------------------------------------------


def _spoken(entry: dict[str, Any]) -> set[str]:
    listed: set[str] = set()
    for model in entry.get("models", []):
        protocol = model.get("api_protocol", [])
        listed.update([protocol] if isinstance(protocol, str) else protocol)
    elsewhere = entry.get("protocol_endpoints") or {}
    if "chat_completions" in elsewhere:
        listed.discard("openai")
    if "messages" in elsewhere:
        listed.discard("anthropic")
    return listed


def _choose(spoken: set[str]) -> Protocol | None:
    for name in ("openai", "anthropic", "google"):
        if name in spoken:
            return _PROTOCOLS[name]
    return None


def _env_var(provider_id: str, registry: dict[str, Any], file: dict[str, Any]) -> str:
    env = (registry.get("auth") or {}).get("env")
    if isinstance(env, str) and env.endswith("_API_KEY"):
        return env
    if file.get("env_prefix"):
        return f"{file['env_prefix']}_API_KEY"
    return re.sub(r"[^A-Z0-9]+", "_", provider_id.upper()) + "_API_KEY"


def _registry_provider(entry: dict[str, Any], file: dict[str, Any]) -> ProviderEntry | str:
    if entry["access"] != "api_key" or entry["billing"] != "usage_token":
        return f"{entry['access']} access, {entry['billing']} billing"
    if entry["status"] != "active":
        return f"status {entry['status']}"
    if "${" in entry["api_base"]:
        return "api_base needs per-account values"
    protocol = _choose(_spoken(entry))
    if protocol is None:
        return "speaks none of openai, anthropic, google"
    name = entry.get("display_name") or entry["metadata"].get("name") or entry["id"]
    if not entry.get("display_name") and entry["id"].endswith("_cn"):
        name += " (China)"
    name = _NAMES.get(entry["id"], name)
    return ProviderEntry(
        id=entry["id"],
        name=name,
        protocol=protocol,
        api_base=entry["api_base"].rstrip("/"),
        env_var=_env_var(entry["id"], entry, file),
    )


def _file_provider(provider_id: str, file: dict[str, Any]) -> ProviderEntry | str:
    if "auth" in file:
        return f"{file['auth'].get('type', 'non-key')} login"
    protocol = _PROTOCOLS.get(file["api_protocol"])
    if protocol is None:
        return f"protocol {file['api_protocol']}"
    return ProviderEntry(
        id=provider_id,
        name=_NAMES.get(provider_id, provider_id.replace("-", " ").title()),
        protocol=protocol,
        api_base=file["api_base"].rstrip("/"),
        env_var=_env_var(provider_id, {}, file),
    )


def select_providers(
    files: dict[str, dict[str, Any]], registry: dict[str, dict[str, Any]]
) -> tuple[dict[str, ProviderEntry], dict[str, str]]:
    """The kept providers by id, and the reason each other one was skipped."""
    kept: dict[str, ProviderEntry] = {}
    skipped: dict[str, str] = {}
    for provider_id in sorted(files.keys() | registry.keys()):
        file = files.get(provider_id, {})
        if provider_id in registry:
            result = _registry_provider(registry[provider_id], file)
        else:
            result = _file_provider(provider_id, file)
        if isinstance(result, str):
            skipped[provider_id] = result
        else:
            kept[provider_id] = result
    return kept, skipped


# ---- model ids -------------------------------------------------------------------------------


def _vendor(provider_id: str, wire_id: str) -> str:
    if provider_id in _VENDORS:
        return _VENDORS[provider_id]
    lower = wire_id.lower()
    for pattern, vendor in _PREFIXES:
        if pattern.match(lower):
            return vendor
    return provider_id


def _candidates(wire_id: str) -> list[tuple[str, tuple[int, int]]]:
    """Names ``wire_id`` may go by, best first, each with its rank (exact, alias, snapshot)."""
    lower = wire_id.lower()
    bases = [(lower, (0, 0))]
    date = _DATE.search(lower)
    if date:
        bases.append((lower[: date.start()], (2, -int(date.group(1).replace("-", "")))))
    elif lower.endswith("-latest"):
        bases.append((lower.removesuffix("-latest"), (1, 0)))
    out: list[tuple[str, tuple[int, int]]] = []
    for name, rank in bases:
        dotted = _DASHED_VERSION.sub(r"\1.\2", name)
        out.append((name, rank))
        if dotted != name:
            out.append((dotted, rank))
        if dotted.endswith(".0"):  # claude-opus-4-0 is an alias of claude-opus-4
            out.append((dotted[:-2], (max(rank[0], 1), rank[1])))
    return out


def resolve(
    provider_id: str, wire_id: str, known: set[str], wire: dict[tuple[str, str], str]
) -> tuple[str, tuple[int, int]]:
    """The canonical id of ``wire_id`` at ``provider_id``, and how well it matched."""
    if "/" in wire_id:
        return wire_id.lower(), (0, 0)
    vendor = _vendor(provider_id, wire_id)
    for name, rank in _candidates(wire_id):
        if f"{vendor}/{name}" in known:
            return f"{vendor}/{name}", rank
    mapped = wire.get((provider_id, wire_id.lower()))
    return mapped or f"{vendor}/{wire_id.lower()}", (0, 0)


def _own_id(provider_id: str, wire_id: str) -> str:
    lower = wire_id.lower()
    return lower if "/" in lower else f"{_vendor(provider_id, wire_id)}/{lower}"


# ---- offers and facts ------------------------------------------------------------------------


def prices(pricing: dict[str, Any]) -> Prices:
    """µUSD prices from a price table in USD per 1M tokens (its base context tier)."""
    given = pricing["input_tokens"]
    taken = pricing["output_tokens"]

    def maybe(table: dict[str, Any], key: str) -> int | None:
        return None if table.get(key) is None else usd(table[key])

    return Prices(
        input=usd(given["no_cache"]),
        output=usd(taken["text"]),
        cache_read=maybe(given, "cache_read"),
        cache_write=maybe(given, "cache_write"),
        reasoning=maybe(taken, "reasoning"),
    )


def _is_chat(model_id: str, entry: dict[str, Any]) -> bool:
    output = entry.get("output_modalities")
    if output is not None and "text" not in output:
        return False
    return not _NOT_CHAT.search(model_id.lower().rsplit("/", 1)[-1])


def _facts(entry: dict[str, Any]) -> dict[str, Any]:
    facts = {key: entry[key] for key in _META_FIELDS if entry.get(key) is not None}
    if "input_modalities" in facts:
        facts["input_modalities"] = tuple(dict.fromkeys(facts["input_modalities"]))
    return facts


def _facts_rank(provider_id: str, model: str) -> int:
    if _VENDORS.get(provider_id) == model.partition("/")[0]:
        return 1
    return {"openrouter": 2, "bitrouter": 3}.get(provider_id, 4)


def _one_per_model(found: list[_Found], provider_id: str) -> list[_Found]:
    """The best wire id per model; the others get their own model entry."""
    best: dict[str, _Found] = {}
    for item in sorted(found, key=lambda f: (f.rank, f.offer.provider_model_id)):
        if item.model not in best:
            best[item.model] = item
    out = list(best.values())
    for item in found:
        own = _own_id(provider_id, item.offer.provider_model_id)
        if best[item.model] is not item and own not in best:
            moved = replace(item, model=own, rank=(0, 0), meta_rank=_facts_rank(provider_id, own))
            best[own] = moved
            out.append(moved)
    return out


def _file_offers(
    provider_id: str, file: dict[str, Any], known: set[str], wire: dict[tuple[str, str], str]
) -> list[_Found]:
    found = []
    for wire_id, entry in sorted(file["models"].items()):
        if not entry.get("pricing") or not _is_chat(wire_id, entry):
            continue
        model, rank = resolve(provider_id, wire_id, known, wire)
        offer = Offer(
            provider=provider_id,
            provider_model_id=wire_id,
            prices=prices(entry["pricing"]),
            max_output_tokens=entry.get("max_output_tokens"),
        )
        found.append(_Found(model, offer, rank, _facts(entry), _facts_rank(provider_id, model)))
    return _one_per_model(found, provider_id)


def _registry_offers(entry: dict[str, Any], models: dict[str, dict[str, Any]]) -> list[_Found]:
    found = []
    for item in entry["models"]:
        if not item.get("pricing") or not _is_chat(item["id"], models.get(item["id"], {})):
            continue
        offer = Offer(
            provider=entry["id"],
            provider_model_id=item["provider_model_id"],
            prices=prices(item["pricing"]),
            requests_per_minute=(item.get("rate_limits") or {}).get("requests_per_minute"),
        )
        found.append(_Found(item["id"], offer, (0, 0), {}, 0))
    return _one_per_model(found, entry["id"])


# ---- the catalog -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Sources:
    """The raw data: yaml files by provider id, registry providers and models by id."""

    files: dict[str, dict[str, Any]]
    providers: dict[str, dict[str, Any]]
    models: dict[str, dict[str, Any]]

    @classmethod
    def read(cls, data: Path) -> Sources:
        """Every source file under ``data``."""
        files = {
            path.stem: yaml.safe_load(path.read_text(encoding="utf-8"))
            for path in sorted((data / "catalog-2026-05").glob("*.yaml"))
        }
        registry = data / "registry-2026-08"
        providers = json.loads((registry / "providers.json").read_text(encoding="utf-8"))
        models = json.loads((registry / "models.json").read_text(encoding="utf-8"))
        return cls(
            files=files,
            providers={entry["id"]: entry for entry in providers["data"]},
            models={entry["id"]: entry for entry in models["data"]},
        )


def _collect(sources: Sources, kept: dict[str, ProviderEntry]) -> tuple[list[_Found], list[_Found]]:
    """Every offer of a kept provider: from the yaml files, and from the registry."""
    known = set(sources.models)
    wire: dict[tuple[str, str], str] = {}
    for entry in sources.providers.values():
        for item in entry["models"]:
            known.add(item["id"])
            wire[(entry["id"], item["provider_model_id"].lower())] = item["id"]
    for file in sources.files.values():
        known.update(key.lower() for key in file["models"] if "/" in key)
    older: list[_Found] = []
    for provider_id, file in sorted(sources.files.items()):
        if provider_id in kept:
            older += _file_offers(provider_id, file, known, wire)
    newer: list[_Found] = []
    for provider_id, entry in sorted(sources.providers.items()):
        if provider_id in kept:
            newer += _registry_offers(entry, sources.models)
    return older, newer


def _merge(older: list[_Found], newer: list[_Found]) -> dict[tuple[str, str], Offer]:
    """Offers by (model, provider); a newer offer replaces every older one of its wire model."""
    offers = {(found.model, found.offer.provider): found.offer for found in older}
    by_wire: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for key, offer in offers.items():
        by_wire.setdefault((offer.provider, offer.provider_model_id.lower()), []).append(key)
    for found in newer:
        offer = found.offer
        same = by_wire.get((offer.provider, offer.provider_model_id.lower()), [])
        for key in [*same, (found.model, offer.provider)]:
            previous = offers.get(key)
            limit = previous.max_output_tokens if previous else None
            offers[key] = replace(offer, max_output_tokens=limit)
    return offers


def _model(
    model_id: str, offers: list[Offer], facts: list[tuple[int, str, dict[str, Any]]]
) -> ModelEntry:
    merged: dict[str, Any] = {}
    for _, _, given in sorted(facts, key=lambda f: (f[0], f[1])):
        for key, value in given.items():
            merged.setdefault(key, value)
    max_output = merged.get("max_output_tokens")
    return ModelEntry(
        id=model_id,
        name=merged.get("name") or model_id.partition("/")[2],
        offers=tuple(
            replace(o, max_output_tokens=None) if o.max_output_tokens == max_output else o
            for o in sorted(offers, key=lambda o: o.provider)
        ),
        max_input_tokens=merged.get("max_input_tokens"),
        max_output_tokens=max_output,
        input_modalities=merged.get("input_modalities", ("text",)),
    )


def build(data: Path) -> tuple[Catalog, dict[str, str]]:
    """The catalog built from ``data``, and the providers skipped with their reasons."""
    sources = Sources.read(data)
    kept, skipped = select_providers(sources.files, sources.providers)
    older, newer = _collect(sources, kept)
    offers = _merge(older, newer)
    facts: dict[str, list[tuple[int, str, dict[str, Any]]]] = {}
    for found in older:
        facts.setdefault(found.model, []).append(
            (found.meta_rank, found.offer.provider, found.meta)
        )
    for model_id, entry in sources.models.items():
        facts.setdefault(model_id, []).append((0, "", _facts(entry)))
    by_model: dict[str, list[Offer]] = {}
    for (model_id, _), offer in offers.items():
        by_model.setdefault(model_id, []).append(offer)
    models = [_model(m, by_model[m], facts.get(m, [])) for m in sorted(by_model)]
    return Catalog.build(models, list(kept.values())), skipped


def main(argv: list[str] | None = None) -> int:
    """Build the catalog and write it atomically."""
    parser = argparse.ArgumentParser(description="Build the shipped model catalog.")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the data folder")
    parser.add_argument("--out", type=Path, default=CATALOG_PATH, help="the catalog to write")
    args = parser.parse_args(argv)
    if not (args.data / "registry-2026-08").is_dir():
        print(f"error: no catalog data in {args.data}", file=sys.stderr)
        return 2
    catalog, skipped = build(args.data)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_name(args.out.name + ".partial")
    partial.write_bytes(dumps_catalog(catalog))
    partial.replace(args.out)
    offers = sum(len(model.offers) for model in catalog)
    print(
        f"{len(catalog)} models, {len(catalog.providers)} providers, {offers} offers → {args.out}",
        file=sys.stderr,
    )
    for provider_id, reason in skipped.items():
        print(f"skipped {provider_id}: {reason}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
