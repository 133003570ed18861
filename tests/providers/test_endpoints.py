from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.core import Catalog, ProviderEntry
from gateway.providers import SIMULATED_KEY, resolve_endpoints
from gateway.providers._sse import SseDecoder
from gateway.settings import settings_from_mapping

CATALOG = Catalog.build(
    [],
    [
        ProviderEntry("openai", "OpenAI", "openai", "https://api.openai.com/v1", "OPENAI_API_KEY"),
        ProviderEntry(
            "anthropic",
            "Anthropic",
            "anthropic",
            "https://api.anthropic.com/v1",
            "ANTHROPIC_API_KEY",
        ),
        ProviderEntry(
            "google",
            "Gemini",
            "google",
            "https://generativelanguage.googleapis.com/v1beta",
            "GEMINI_API_KEY",
        ),
    ],
)
SIM = "http://127.0.0.1:9999"


def settings(tmp_path: Path, environ: dict[str, str], **sections: Any):  # type: ignore[no-untyped-def]
    return settings_from_mapping(sections, tmp_path, environ=environ)


@pytest.mark.req("CHAT-3")
def test_a_key_from_the_environment_makes_a_provider_routable(tmp_path: Path) -> None:
    endpoints = resolve_endpoints(
        CATALOG, settings(tmp_path, {"OPENAI_API_KEY": "sk-real"}, simulator={"mode": "off"})
    )
    openai = endpoints.get("openai")
    assert openai is not None and not openai.simulated
    assert openai.headers["authorization"] == "Bearer sk-real"
    assert "sk-real" not in repr(openai)
    assert endpoints.get("anthropic") is None
    assert endpoints.status("anthropic").note == "no credentials (set ANTHROPIC_API_KEY)"


def test_settings_key_and_base_win_over_the_catalog(tmp_path: Path) -> None:
    providers = {
        "anthropic": {
            "api_key": "sk-ant-conf",
            "api_base": "http://127.0.0.1:1/v1/",
            "headers": {"x-org": "acme"},
        }
    }
    endpoints = resolve_endpoints(
        CATALOG,
        settings(
            tmp_path,
            {"ANTHROPIC_API_KEY": "sk-env"},
            providers=providers,
            simulator={"mode": "off"},
        ),
    )
    anthropic = endpoints.get("anthropic")
    assert anthropic is not None
    assert anthropic.base_url == "http://127.0.0.1:1/v1"
    assert anthropic.headers["x-api-key"] == "sk-ant-conf"
    assert anthropic.headers["x-org"] == "acme"


@pytest.mark.req("CHAT-3")
def test_auto_mode_simulates_only_the_providers_without_credentials(tmp_path: Path) -> None:
    endpoints = resolve_endpoints(
        CATALOG, settings(tmp_path, {"OPENAI_API_KEY": "sk-real"}), simulator_url=SIM
    )
    openai, anthropic, google = (endpoints.get(p) for p in ("openai", "anthropic", "google"))
    assert openai is not None and not openai.simulated
    assert anthropic is not None and anthropic.simulated
    assert anthropic.base_url == f"{SIM}/p/anthropic/v1"
    assert anthropic.headers["x-api-key"] == SIMULATED_KEY
    assert anthropic.label == "anthropic (simulated)"
    assert google is not None and google.base_url == f"{SIM}/p/google/v1beta"


@pytest.mark.req("CHAT-3")
def test_on_mode_simulates_everything_and_off_mode_nothing(tmp_path: Path) -> None:
    env = {"OPENAI_API_KEY": "sk-real"}
    on = resolve_endpoints(CATALOG, settings(tmp_path, env, simulator={"mode": "on"}), SIM)
    assert all(e.simulated for e in on) and len(on) == 3
    off = resolve_endpoints(CATALOG, settings(tmp_path, env, simulator={"mode": "off"}), SIM)
    assert [e.provider for e in off] == ["openai"]


@pytest.mark.req("CHAT-3")
def test_a_configured_keyless_server_is_routable(tmp_path: Path) -> None:
    providers = {"ollama": {"api_base": "http://127.0.0.1:11434/v1"}}
    endpoints = resolve_endpoints(
        CATALOG, settings(tmp_path, {}, providers=providers, simulator={"mode": "off"})
    )
    ollama = endpoints.get("ollama")
    assert ollama is not None and ollama.protocol == "openai" and not ollama.simulated
    assert "authorization" not in ollama.headers


def test_a_disabled_provider_is_never_routable(tmp_path: Path) -> None:
    providers = {"openai": {"enabled": False}}
    endpoints = resolve_endpoints(
        CATALOG, settings(tmp_path, {"OPENAI_API_KEY": "k"}, providers=providers), SIM
    )
    assert endpoints.get("openai") is None
    assert endpoints.status("openai").note == "disabled in settings"


def test_sse_decoder_handles_split_lines_comments_and_crlf() -> None:
    decoder = SseDecoder()
    events = decoder.feed(b": keep-alive\r\nevent: a\r\nda")
    events += decoder.feed(b"ta: one\r\ndata: two\r\n\r\ndata: {}\n")
    assert events == [("a", b"one\ntwo")]
    assert decoder.flush() == [("", b"{}")]
