"""Fixtures of the routing tests: a small hand-built catalog and a router over it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.core import Catalog, ModelEntry, Offer, Prices, ProviderEntry, usd
from gateway.providers import resolve_endpoints
from gateway.routing import HealthBoard, Router
from gateway.settings import settings_from_mapping

PROVIDERS = [
    ProviderEntry("cheap", "Cheap", "openai", "https://cheap.test/v1", "CHEAP_API_KEY"),
    ProviderEntry("mid", "Mid", "openai", "https://mid.test/v1", "MID_API_KEY"),
    ProviderEntry("dear", "Dear", "openai", "https://dear.test/v1", "DEAR_API_KEY"),
    ProviderEntry("claude", "Claude", "anthropic", "https://claude.test/v1", "CLAUDE_API_KEY"),
    ProviderEntry("gem", "Gem", "google", "https://gem.test/v1beta", "GEM_API_KEY"),
    ProviderEntry("nokey", "No key", "openai", "https://nokey.test/v1", "NOKEY_API_KEY"),
]
KEYS = {f"{p.id.upper()}_API_KEY": f"sk-{p.id}" for p in PROVIDERS if p.id != "nokey"}


def prices(inp: float, out: float) -> Prices:
    return Prices(input=usd(inp), output=usd(out))


def offers(**table: tuple[float, float]) -> tuple[Offer, ...]:
    return tuple(Offer(p, f"{p}-model", prices(*io)) for p, io in table.items())


def catalog() -> Catalog:
    chat = ModelEntry(
        "acme/chat-1",
        "Acme Chat 1",
        offers(
            dear=(3.0, 12.0),
            cheap=(1.0, 4.0),
            mid=(1.4, 5.6),
            claude=(2.0, 8.0),
            gem=(2.5, 10.0),
            nokey=(0.1, 0.1),
        ),
        max_output_tokens=8000,
    )
    solo = ModelEntry("acme/solo", "Acme Solo", offers(claude=(2.0, 8.0)), max_output_tokens=4000)
    return Catalog.build([chat, solo], PROVIDERS)


def _router(
    tmp_path: Path,
    *,
    env: dict[str, str] | None = None,
    simulator_url: str | None = None,
    clock: Any = None,
    **sections: Any,
) -> Router:
    settings = settings_from_mapping(sections, tmp_path, environ=KEYS if env is None else env)
    endpoints = resolve_endpoints(catalog(), settings, simulator_url)
    breaker = settings.routing.breaker
    if clock is None:
        health = HealthBoard(breaker.failure_threshold, breaker.cooldown_seconds)
    else:
        health = HealthBoard(breaker.failure_threshold, breaker.cooldown_seconds, clock)
    return Router(catalog(), settings, endpoints, health)


@pytest.fixture
def make_router(tmp_path: Path) -> Callable[..., Router]:
    """``make_router(env=, simulator_url=, clock=, **settings sections)``: a router over the
    small catalog (every provider but ``nokey`` has a key unless ``env`` says otherwise)."""

    def build(**options: Any) -> Router:
        return _router(tmp_path, **options)

    return build
