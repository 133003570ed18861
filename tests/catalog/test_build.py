"""scripts/build_catalog.py: the shipped file is a fresh build, and its mapping rules."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from gateway.catalog import CATALOG_PATH

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "build_catalog.py"
DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="module")
def build() -> Iterator[ModuleType]:
    spec = importlib.util.spec_from_file_location("build_catalog", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being created
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


@pytest.mark.req("CAT-9")
@pytest.mark.skipif(not DATA.is_dir(), reason="the shared catalog data is not checked out")
def test_the_shipped_catalog_is_a_fresh_build(tmp_path: Path) -> None:
    out = tmp_path / "catalog.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--data", str(DATA), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == CATALOG_PATH.read_bytes(), "run scripts/build_catalog.py"


def test_a_missing_data_folder_is_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--data", str(tmp_path), "--out", str(tmp_path / "c")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: no catalog data in {tmp_path}"
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize(
    ("provider", "wire_id", "canonical"),
    [
        ("moonshot", "kimi-k2.5", "moonshotai/kimi-k2.5"),
        ("anthropic", "claude-sonnet-4-20250514", "anthropic/claude-sonnet-4"),
        ("anthropic", "claude-sonnet-4-0", "anthropic/claude-sonnet-4"),
        ("anthropic", "claude-3-5-haiku-latest", "anthropic/claude-3.5-haiku"),
        ("openai", "gpt-4o-2024-08-06", "openai/gpt-4o"),
        ("zai", "glm-4.6", "z-ai/glm-4.6"),
        ("minimax", "MiniMax-M9-fast", "minimax/minimax-m9-fast"),
        ("opencode-zen", "claude-sonnet-4", "anthropic/claude-sonnet-4"),
        ("opencode-zen", "big-pickle", "opencode-zen/big-pickle"),
        ("openrouter", "Acme/Widget", "acme/widget"),
    ],
)
def test_provider_ids_map_onto_canonical_ids(
    build: Any, provider: str, wire_id: str, canonical: str
) -> None:
    known = {
        "moonshotai/kimi-k2.5",
        "anthropic/claude-sonnet-4",
        "anthropic/claude-3.5-haiku",
        "openai/gpt-4o",
        "z-ai/glm-4.6",
    }
    assert build.resolve(provider, wire_id, known, {})[0] == canonical


def test_the_registry_names_a_wire_id_no_name_matches(build: Any) -> None:
    wire = {("deepseek", "deepseek-v9"): "deepseek/deepseek-v9-0101"}
    assert build.resolve("deepseek", "deepseek-v9", set(), wire)[0] == "deepseek/deepseek-v9-0101"


@pytest.mark.parametrize(
    ("wire_ids", "winner"),
    [
        (["claude-x-1-5-20250101", "claude-x-1-5-20250601"], "claude-x-1-5-20250601"),
        (["claude-x-1-5-20250601", "claude-x-1-5-latest"], "claude-x-1-5-latest"),
        (["claude-x-1-5-latest", "claude-x-1-5"], "claude-x-1-5"),
    ],
)
def test_the_exact_wire_id_beats_an_alias_beats_the_newest_snapshot(
    build: Any, wire_ids: list[str], winner: str
) -> None:
    price = {"input_tokens": {"no_cache": 1}, "output_tokens": {"text": 2}}
    file = {"models": {wire_id: {"pricing": price} for wire_id in wire_ids}}
    found = build._file_offers("anthropic", file, {"anthropic/claude-x-1.5"}, {})
    by_model = {f.model: f.offer.provider_model_id for f in found}
    losers = {f"anthropic/{w}": w for w in wire_ids if w != winner}
    assert by_model == {"anthropic/claude-x-1.5": winner} | losers


def _registry(protocols: list[Any], **extra: Any) -> dict[str, Any]:
    entry = {
        "id": "acme",
        "access": "api_key",
        "billing": "usage_token",
        "status": "active",
        "api_base": "https://api.acme.test/v1",
        "metadata": {"name": "Acme"},
        "models": [{"api_protocol": p} for p in protocols],
    }
    return entry | extra


@pytest.mark.parametrize(
    ("entry", "protocol"),
    [
        (_registry(["anthropic"]), "anthropic"),
        (_registry([["openai", "responses", "anthropic"]]), "openai"),
        (
            _registry([["anthropic", "openai"]], protocol_endpoints={"chat_completions": "x"}),
            "anthropic",
        ),
        (_registry([["google", "openai"]], protocol_endpoints={"chat_completions": "x"}), "google"),
        (_registry(["responses"]), None),
        (_registry(["openai"], billing="subscription"), None),
        (_registry(["openai"], access="local_oauth"), None),
        (_registry(["openai"], api_base="https://${REGION}.acme.test"), None),
    ],
)
def test_provider_protocol_and_skip_rules(build: Any, entry: dict[str, Any], protocol: str) -> None:
    kept, skipped = build.select_providers({}, {"acme": entry})
    if protocol is None:
        assert "acme" in skipped and not kept
    else:
        assert kept["acme"].protocol == protocol
        assert kept["acme"].env_var == "ACME_API_KEY"


def test_a_yaml_provider_with_a_login_is_skipped(build: Any) -> None:
    files = {
        "keyed": {"api_protocol": "openai", "api_base": "https://k.test/v1", "env_prefix": "KEYED"},
        "login": {
            "api_protocol": "openai",
            "api_base": "https://l.test",
            "auth": {"type": "oauth"},
        },
    }
    kept, skipped = build.select_providers(files, {})
    assert kept["keyed"].env_var == "KEYED_API_KEY"
    assert skipped == {"login": "oauth login"}


def test_prices_round_up_to_micro_usd_and_keep_the_base_tier(build: Any) -> None:
    pricing = {
        "input_tokens": {"no_cache": 0.0000015, "cache_read": 0.0028},
        "output_tokens": {"text": 2.2, "reasoning": 3},
        "context_tiers": [{"above_input_tokens": 1, "input_tokens": {"no_cache": 9.0}}],
    }
    prices = build.prices(pricing)
    assert (prices.input, prices.cache_read, prices.output, prices.reasoning) == (
        2,
        2800,
        2_200_000,
        3_000_000,
    )
