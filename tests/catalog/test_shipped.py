"""The shipped catalog: the product document's models, ids, prices, providers and protocols."""

from __future__ import annotations

import time

import pytest

from gateway.catalog import CATALOG_PATH, dumps_catalog, load_catalog
from gateway.core import Catalog, Prices, ProviderEntry, TokenCounts, cost_micro_usd


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.mark.req("CAT-1")
def test_ships_more_than_200_models(catalog: Catalog) -> None:
    assert len(catalog) >= 200
    assert all(model.offers for model in catalog)


@pytest.mark.req("CAT-2")
def test_kimi_k2_5_is_served_by_moonshot(catalog: Catalog) -> None:
    kimi = catalog.get("moonshotai:kimi-k2.5")
    assert kimi is not None and kimi.id == "moonshotai/kimi-k2.5"
    offer = kimi.offer("moonshot")
    assert offer is not None and offer.provider_model_id == "kimi-k2.5"
    assert offer.prices == Prices(input=600_000, output=3_000_000, cache_read=100_000)
    assert catalog.providers["moonshot"] == ProviderEntry(
        id="moonshot",
        name="Moonshot AI (China)",
        protocol="openai",
        api_base="https://api.moonshot.cn/v1",
        env_var="MOONSHOT_API_KEY",
    )


@pytest.mark.req("CAT-2")
def test_claude_sonnet_4_is_served_by_anthropic(catalog: Catalog) -> None:
    sonnet = catalog.get("anthropic:claude-sonnet-4")
    assert sonnet is not None and sonnet.id == "anthropic/claude-sonnet-4"
    offer = sonnet.offer("anthropic")
    assert offer is not None and offer.provider_model_id.startswith("claude-sonnet-4-")
    assert offer.prices == Prices(
        input=3_000_000, output=15_000_000, cache_read=300_000, cache_write=3_750_000
    )
    # 1,000 prompt and 500 completion tokens at $3 / $15 per 1M tokens = $0.0105
    assert cost_micro_usd(offer.prices, TokenCounts(prompt=1000, completion=500)) == 10_500
    anthropic = catalog.providers["anthropic"]
    assert (anthropic.protocol, anthropic.env_var) == ("anthropic", "ANTHROPIC_API_KEY")


@pytest.mark.req("CAT-3")
def test_both_id_forms_find_a_model_case_insensitively(catalog: Catalog) -> None:
    slash = catalog.get("anthropic/claude-sonnet-4")
    assert slash is not None
    assert catalog.get("anthropic:claude-sonnet-4") is slash
    assert catalog.get("Anthropic:Claude-Sonnet-4") is slash
    free = catalog.get("openai:gpt-oss-120b:free")
    assert free is not None and free.id == "openai/gpt-oss-120b:free"
    assert catalog.get("anthropic:claude-nonexistent") is None


@pytest.mark.req("CAT-4")
def test_every_price_is_integer_micro_usd(catalog: Catalog) -> None:
    offers = [offer for model in catalog for offer in model.offers]
    assert len(offers) > len(catalog)
    for offer in offers:
        prices = offer.prices.to_dict()
        assert {"input", "output"} <= prices.keys()
        assert all(type(value) is int and value >= 0 for value in prices.values()), offer


@pytest.mark.req("CAT-5")
def test_every_provider_speaks_one_of_three_protocols(catalog: Catalog) -> None:
    assert {p.protocol for p in catalog.providers.values()} == {"openai", "anthropic", "google"}
    for provider in catalog.providers.values():
        assert provider.api_base.startswith("https://"), provider
        assert provider.env_var is not None and provider.env_var.endswith("_API_KEY"), provider
    used = {offer.provider for model in catalog for offer in model.offers}
    assert used == set(catalog.providers)


@pytest.mark.req("CAT-5")
def test_gemini_is_served_over_the_google_protocol(catalog: Catalog) -> None:
    gemini = catalog.get("google:gemini-2.5-pro")
    assert gemini is not None
    offer = gemini.offer("google")
    assert offer is not None and offer.provider_model_id == "gemini-2.5-pro"
    google = catalog.providers["google"]
    assert (google.protocol, google.env_var) == ("google", "GEMINI_API_KEY")


@pytest.mark.req("CAT-6")
def test_many_models_have_several_providers(catalog: Catalog) -> None:
    shared = [model for model in catalog if len(model.offers) > 1]
    assert len(shared) >= 50
    kimi = catalog.get("moonshotai/kimi-k2.5")
    assert kimi is not None
    assert {"moonshot", "moonshotai", "openrouter", "bitrouter"} <= {
        o.provider for o in kimi.offers
    }


@pytest.mark.req("CAT-7")
def test_newer_registry_prices_win(catalog: Catalog) -> None:
    # catalog-2026-05 priced OpenRouter's kimi-k2.5 at $0.60 in; registry-2026-08 at $0.57
    kimi = catalog.get("moonshotai/kimi-k2.5")
    assert kimi is not None
    openrouter = kimi.offer("openrouter")
    assert openrouter is not None and openrouter.prices.input == 570_000


@pytest.mark.req("CAT-8")
def test_subscription_and_login_providers_are_not_shipped(catalog: Catalog) -> None:
    for provider in ("github-copilot", "claude-code", "opencode-go", "openai-codex", "azure"):
        assert provider not in catalog.providers


def test_the_file_is_what_dumps_catalog_writes() -> None:
    assert dumps_catalog(load_catalog()) == CATALOG_PATH.read_bytes()


def test_loading_is_fast() -> None:
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        load_catalog()
        timings.append(time.perf_counter() - start)
    # typically well under 50 ms; the bound leaves room for a busy machine
    assert min(timings) < 0.25
