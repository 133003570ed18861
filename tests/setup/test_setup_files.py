"""The wizard's files: atomic writes, ``.env`` updates, ``bitrouter.yaml`` with backups."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import yaml

import gateway.setup
from gateway.catalog import load_catalog
from gateway.errors import ConfigError
from gateway.settings import load_settings
from gateway.setup import (
    RemoteChoice,
    SetupChoices,
    config_mapping,
    provider_keys,
    read_config_mapping,
    read_dotenv_values,
    save_config,
    update_dotenv,
    write_atomic,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_public_api_is_declared() -> None:
    for name in gateway.setup.__all__:
        value = getattr(gateway.setup, name)
        assert isinstance(value, str) or value.__doc__, name


@pytest.mark.req("SETUP-ATOMIC")
def test_an_interrupted_write_leaves_the_old_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "bitrouter.yaml"
    write_atomic(target, b"old: 1\n")
    assert mode(target) == 0o600

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, b"new: 2\n" * 1000)
    assert target.read_bytes() == b"old: 1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bitrouter.yaml"]


@pytest.mark.req("SETUP-BYOK")
def test_dotenv_update_keeps_other_lines_and_round_trips_through_the_loader(home: Path) -> None:
    env = home / ".env"
    env.write_text("# mine\nexport OTHER=keep me\nOPENAI_API_KEY=old\nOPENAI_API_KEY=dup\n")
    update_dotenv(env, {"OPENAI_API_KEY": "sk-new", "XAI_API_KEY": ' "quoted" value '})
    lines = env.read_text().splitlines()
    assert lines[:3] == ["# mine", "export OTHER=keep me", "OPENAI_API_KEY=sk-new"]
    assert mode(env) == 0o600
    assert read_dotenv_values(env) == {
        "OTHER": "keep me",
        "OPENAI_API_KEY": "sk-new",
        "XAI_API_KEY": ' "quoted" value ',
    }
    loaded = load_settings(home, environ={})
    assert loaded.environment["XAI_API_KEY"].get_secret_value() == ' "quoted" value '
    with pytest.raises(ConfigError, match="single line"):
        update_dotenv(env, {"OPENAI_API_KEY": "a\nb"})
    assert read_dotenv_values(env)["OPENAI_API_KEY"] == "sk-new"


@pytest.mark.req("SETUP-BYOK")
def test_provider_keys_come_from_the_environment_then_dotenv_featured_first() -> None:
    keys = provider_keys(
        load_catalog(),
        {"XAI_API_KEY": "x", "GEMINI_API_KEY": "g"},
        {"ANTHROPIC_API_KEY": "a", "GEMINI_API_KEY": "ignored"},
    )
    assert [k.provider for k in keys[:3]] == ["openai", "anthropic", "google"]
    by_var = {k.env_var: k for k in keys}
    assert (by_var["OPENAI_API_KEY"].value, by_var["OPENAI_API_KEY"].source) == (None, None)
    assert (by_var["ANTHROPIC_API_KEY"].value, by_var["ANTHROPIC_API_KEY"].source) == ("a", ".env")
    assert (by_var["GEMINI_API_KEY"].value, by_var["GEMINI_API_KEY"].source) == ("g", "environment")
    assert by_var["XAI_API_KEY"].source == "environment" and not by_var["XAI_API_KEY"].featured
    assert by_var["OPENAI_API_KEY"].typed("t").source == "typed"


@pytest.mark.req("SETUP-BYOK", "SETUP-ATOMIC")
def test_byok_config_keeps_other_sections_refers_to_keys_and_backs_up(home: Path) -> None:
    old = {
        "mode": "default",
        "remote": {"url": "http://old"},
        "providers": {"openai": {"api_base": "http://127.0.0.1:9/v1"}},
        "mcp_servers": [{"name": "kb", "url": "http://127.0.0.1:9/mcp"}],
    }
    (home / "bitrouter.yaml").write_text(yaml.safe_dump(old))
    choices = SetupChoices("byok", "127.0.0.1", 9999, {"openai": "OPENAI_API_KEY"})
    saved = save_config(home, config_mapping(choices, read_config_mapping(home)), environ={})
    assert saved.backup is not None and yaml.safe_load(saved.backup.read_text()) == old
    written = yaml.safe_load(saved.path.read_text())
    assert written["mode"] == "byok" and "remote" not in written
    assert written["providers"]["openai"] == {
        "api_base": "http://127.0.0.1:9/v1",
        "api_key": "${OPENAI_API_KEY}",
    }
    assert written["mcp_servers"] == old["mcp_servers"]
    update_dotenv(home / ".env", {"OPENAI_API_KEY": "sk-file"})
    loaded = load_settings(home, environ={})
    assert loaded.server.port == 9999
    assert loaded.providers["openai"].api_key is not None
    assert loaded.providers["openai"].api_key.get_secret_value() == "sk-file"


@pytest.mark.req("SETUP-DEFAULT")
def test_default_config_names_the_remote_gateway_agent_and_chain(home: Path) -> None:
    remote = RemoteChoice("http://127.0.0.1:1", "my-agent", "tempo", "http://127.0.0.1:2")
    data = config_mapping(SetupChoices("default", remote=remote), {})
    save_config(home, data, environ={})
    loaded = load_settings(home, environ={})
    assert loaded.mode == "default" and loaded.remote is not None
    assert (loaded.remote.url, loaded.remote.agent, loaded.remote.chain) == (
        "http://127.0.0.1:1",
        "my-agent",
        "tempo",
    )
    assert loaded.chains.default == "tempo"
    assert (loaded.chains.tempo.mode, loaded.chains.tempo.rpc_url) == ("rpc", "http://127.0.0.1:2")


@pytest.mark.req("SETUP-ATOMIC")
def test_an_invalid_config_is_refused_before_anything_is_written(home: Path) -> None:
    (home / "bitrouter.yaml").write_text("mode: byok\n")
    data = config_mapping(SetupChoices("byok", port=70000), read_config_mapping(home))
    with pytest.raises(ConfigError, match=r"server\.port"):
        save_config(home, data, environ={})
    assert (home / "bitrouter.yaml").read_text() == "mode: byok\n"
    assert sorted(p.name for p in home.iterdir()) == ["bitrouter.yaml"]
