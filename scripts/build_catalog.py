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
    else the provider id): the registry's id for the same provider and wire id if any; else an
    existing id equal to it, or to it without a ``-YYYYMMDD``/``-YYYY-MM-DD``/``-latest``
    suffix, reading ``4-5`` as ``4.5`` and ``4-0`` as ``4`` (Anthropic writes versions with
    dashes); else a new ``vendor/<wire id>``. When several wire ids of one provider map to one
    model, the exact one wins, then an alias, then the newest snapshot; the others keep their
    own ``vendor/<wire id>`` entry. The wire id is kept on the offer.
  * Not chat models (embeddings, speech, realtime, image-only output) are left out.
  * Model facts (name, limits, input modalities) come, field by field, from the registry, then
    the vendor's own provider, then openrouter, then bitrouter, then any other provider.
  * An offer's max_output_tokens is written only where it differs from the model's.

Prices
  * USD per 1M tokens become integer µUSD per 1M tokens with ``gateway.core.money.usd`` (rounded
    up). Where the same provider serves the same model in both sources, the registry wins.
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
_NAMES = {"moonshot": "Moonshot AI (China)", "qwen": "Alibaba DashScope (Qwen)"}
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
    mapped = wire.get((provider_id, wire_id.lower()))
    if mapped:
        return mapped, (0, 0)
    if "/" in wire_id:
        return wire_id.lower(), (0, 0)
    vendor = _vendor(provider_id, wire_id)
    for name, rank in _candidates(wire_id):
        if f"{vendor}/{name}" in known:
            return f"{vendor}/{name}", rank
    return f"{vendor}/{wire_id.lower()}", (0, 0)
