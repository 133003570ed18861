from __future__ import annotations

from pathlib import Path

import pytest

from gateway.errors import ConfigError
from gateway.settings import load_settings


def write(home: Path, text: str) -> None:
    (home / "bitrouter.yaml").write_text(text, encoding="utf-8")


def test_defaults_without_a_file(home: Path) -> None:
    settings = load_settings(home, environ={})
    assert settings.listen == "127.0.0.1:8787"
    assert settings.database_url == f"sqlite:///{home / 'bitrouter.db'}"


def test_env_references_and_dotenv(home: Path) -> None:
    (home / ".env").write_text("OPENAI_API_KEY=sk-from-dotenv\n# comment\nPORT='9001'\n")
    write(home, "server:\n  port: ${PORT}\nproviders:\n  openai:\n    api_key: ${OPENAI_API_KEY}\n")
    settings = load_settings(home, environ={})
    assert settings.server.port == 9001
    key = settings.providers["openai"].api_key
    assert key is not None and key.get_secret_value() == "sk-from-dotenv"
    assert "sk-from-dotenv" not in repr(settings)
    assert settings.environment["OPENAI_API_KEY"].get_secret_value() == "sk-from-dotenv"


def test_process_environment_wins_over_dotenv(home: Path) -> None:
    (home / ".env").write_text("PORT=9001\n")
    write(home, "server:\n  port: ${PORT}\n")
    assert load_settings(home, environ={"PORT": "9002"}).server.port == 9002


def test_unset_reference_means_not_configured(home: Path) -> None:
    write(home, "providers:\n  anthropic:\n    api_key: ${ANTHROPIC_API_KEY}\n")
    assert load_settings(home, environ={}).providers["anthropic"].api_key is None


def test_unset_reference_inside_text_is_an_error(home: Path) -> None:
    write(home, "database:\n  url: postgresql://${DBHOST}/test\n")
    with pytest.raises(ConfigError, match=r"database\.url: environment variable DBHOST is not set"):
        load_settings(home, environ={})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("server:\n  prot: 1\n", r"bitrouter\.yaml: server\.prot: unknown key"),
        ("server:\n  port: many\n", r"bitrouter\.yaml: server\.port: .*integer.*'many'"),
        ("server:\n  port: 70000\n", r"bitrouter\.yaml: server\.port: .*65535"),
        ("server: [1, 2]\n", r"bitrouter\.yaml: server: "),
        ("- just\n- a list\n", r"bitrouter\.yaml: expected a mapping"),
        ("server:\n  port: [\n", r"bitrouter\.yaml: line \d+"),
        ("chains:\n  solana:\n    mode: mainnet\n", r"chains\.solana: .*confirm_mainnet"),
    ],
)
def test_broken_files_name_file_key_and_problem(home: Path, text: str, expected: str) -> None:
    write(home, text)
    with pytest.raises(ConfigError, match=expected) as info:
        load_settings(home, environ={})
    assert "\n" not in info.value.message


def test_settings_are_frozen(home: Path) -> None:
    settings = load_settings(home, environ={})
    with pytest.raises(ValueError):
        settings.server.port = 1  # type: ignore[misc]
