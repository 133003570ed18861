"""Writing ``bitrouter.yaml`` from the wizard's answers, keeping what the user configured before.

The wizard owns ``mode``, ``server.host``/``server.port``, the ``api_key`` references of the
providers it set up, ``remote`` and the chain it pays on; every other section of an existing
config is kept as it was. The result is validated as Settings before anything is written.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from gateway.errors import ConfigError
from gateway.settings import Settings, settings_from_mapping
from gateway.setup._files import backup_file, write_atomic

__all__ = [
    "CONFIG_FILE",
    "RemoteChoice",
    "SavedConfig",
    "SetupChoices",
    "check_config",
    "config_mapping",
    "read_config_mapping",
    "save_config",
]

CONFIG_FILE = "bitrouter.yaml"
Mode = Literal["byok", "default"]
Chain = Literal["solana", "tempo"]


@dataclass(frozen=True, slots=True)
class RemoteChoice:
    """Default mode: the operator's gateway, the local agent that pays it, and the chain."""

    url: str
    agent: str | None
    chain: Chain = "solana"
    chain_rpc_url: str | None = None


@dataclass(frozen=True, slots=True)
class SetupChoices:
    """What the wizard decided: the mode, where to listen, and the mode's own answers."""

    mode: Mode
    host: str = "127.0.0.1"
    port: int = 8787
    # BYOK: provider id -> the environment variable its key is read from.
    provider_env: Mapping[str, str] = field(default_factory=dict)
    remote: RemoteChoice | None = None


@dataclass(frozen=True, slots=True)
class SavedConfig:
    """Where the config was written and where the previous one was kept (None if none)."""

    path: Path
    backup: Path | None


def read_config_mapping(home: Path) -> dict[str, Any]:
    """The existing ``bitrouter.yaml`` as a mapping; empty when missing or not a mapping."""
    try:
        data = yaml.safe_load((home / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}  # the old file is backed up before it is replaced, so nothing is lost
    return data if isinstance(data, dict) else {}


def _section(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name)
    if not isinstance(value, dict):
        value = {}
        data[name] = value
    return value


def config_mapping(choices: SetupChoices, existing: Mapping[str, Any]) -> dict[str, Any]:
    """The new config: ``existing`` with the wizard's answers applied."""
    data = copy.deepcopy(dict(existing))
    data["mode"] = choices.mode
    server = _section(data, "server")
    server["host"], server["port"] = choices.host, choices.port
    if choices.mode == "byok":
        data.pop("remote", None)
        providers = _section(data, "providers")
        for provider, env_var in choices.provider_env.items():
            entry = providers.get(provider)
            entry = entry if isinstance(entry, dict) else {}
            providers[provider] = {**entry, "api_key": f"${{{env_var}}}"}
        if not providers:
            data.pop("providers")
        return data
    remote = choices.remote
    if remote is None:
        raise ConfigError("default mode needs the remote gateway's URL (--remote-url)")
    data["remote"] = {"url": remote.url, "agent": remote.agent, "chain": remote.chain}
    chains = _section(data, "chains")
    chains["default"] = remote.chain
    if remote.chain_rpc_url:
        chain = _section(chains, remote.chain)
        chain.update({"mode": "rpc", "rpc_url": remote.chain_rpc_url})
    return data


def _render(data: Mapping[str, Any]) -> bytes:
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    header = (
        f"# BitRouter configuration, written by `bitrouter init` on {stamp}.\n"
        "# Provider keys are ${ENV} references; their values live in .env beside this file.\n"
    )
    body = yaml.safe_dump(dict(data), sort_keys=False, allow_unicode=True)
    return (header + body).encode("utf-8")


def check_config(
    home: Path, data: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> Settings:
    """The Settings ``data`` gives, as the server would load it.

    Raises:
        ConfigError: the config would not load (one line naming the key at fault).
    """
    return settings_from_mapping(data, home, environ, source=str(home / CONFIG_FILE))


def save_config(
    home: Path, data: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> SavedConfig:
    """Validate ``data`` as Settings, back up the old ``bitrouter.yaml``, write the new one.

    Raises:
        ConfigError: the config would not load (one line naming the key at fault).
    """
    path = home / CONFIG_FILE
    check_config(home, data, environ)
    rendered = _render(data)
    backup = None
    if path.exists():
        backup = backup_file(path)
    write_atomic(path, rendered, mode=0o600)
    return SavedConfig(path, backup)
