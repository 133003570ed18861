"""Loading a catalog file: the public API and one-line errors for a bad file."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

import gateway.catalog
from gateway.catalog import CATALOG_PATH, dumps_catalog, load_catalog
from gateway.core import Catalog, ModelEntry, Offer, Prices, ProviderEntry
from gateway.errors import ConfigError


def test_public_api() -> None:
    assert sorted(gateway.catalog.__all__) == ["CATALOG_PATH", "dumps_catalog", "load_catalog"]
    assert CATALOG_PATH.name == "catalog.json" and CATALOG_PATH.parent.name == "data"


def test_a_catalog_round_trips_through_its_file(tmp_path: Path) -> None:
    provider = ProviderEntry("local", "Local", "anthropic", "http://127.0.0.1:9/v1", None)
    model = ModelEntry(
        id="acme/widget-1",
        name="Widget 1",
        offers=(Offer("local", "widget-1", Prices(1, 2, cache_read=0, reasoning=5), 7, 60),),
        max_input_tokens=1000,
        input_modalities=("text", "image"),
    )
    path = tmp_path / "catalog.json"
    path.write_bytes(dumps_catalog(Catalog.build([model], [provider])))
    loaded = load_catalog(path)
    assert loaded.models == {"acme/widget-1": model}
    assert loaded.providers == {"local": provider}
    assert loaded.get("ACME:widget-1") == model


def _one_line(error: ConfigError) -> str:
    message = str(error)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_catalog(tmp_path / "nope.json")
    assert "nope.json" in _one_line(caught.value)


def test_invalid_json_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "catalog.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_catalog(path)
    assert "not valid JSON" in _one_line(caught.value)


def _shipped_with(tmp_path: Path, change: dict[str, object]) -> Path:
    raw = orjson.loads(CATALOG_PATH.read_bytes())
    for dotted, value in change.items():
        *parents, last = dotted.split(".")
        node = raw
        for key in parents:
            node = node[key]
        node[last] = value
    path = tmp_path / "catalog.json"
    path.write_bytes(orjson.dumps(raw))
    return path


def test_an_unknown_protocol_names_the_provider(tmp_path: Path) -> None:
    path = _shipped_with(tmp_path, {"providers.openai.protocol": "grpc"})
    with pytest.raises(ConfigError) as caught:
        load_catalog(path)
    assert "providers.openai" in _one_line(caught.value)
    assert "grpc" in str(caught.value)


def test_an_offer_of_an_unknown_provider_names_the_model(tmp_path: Path) -> None:
    offers = [{"provider": "ghost", "provider_model_id": "x", "prices": {"input": 1, "output": 1}}]
    path = _shipped_with(tmp_path, {"models.openai/gpt-4o.offers": offers})
    with pytest.raises(ConfigError) as caught:
        load_catalog(path)
    assert "models.openai/gpt-4o" in _one_line(caught.value)


def test_a_missing_field_names_the_model(tmp_path: Path) -> None:
    path = _shipped_with(tmp_path, {"models.openai/gpt-4o.offers": [{"provider": "openai"}]})
    with pytest.raises(ConfigError) as caught:
        load_catalog(path)
    assert "models.openai/gpt-4o" in _one_line(caught.value)


def test_an_unknown_format_is_refused(tmp_path: Path) -> None:
    path = _shipped_with(tmp_path, {"format": 99})
    with pytest.raises(ConfigError, match="unsupported format 99"):
        load_catalog(path)
