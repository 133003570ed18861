"""Reading ``bitrouter.yaml``: ``${ENV}`` references, the home's ``.env``, one-line errors.

From the environment it also captures provider keys (``Settings.environment``) and the
failpoints armed by ``BITROUTER_FAILPOINTS`` (``Settings.failpoints``, a testing facility).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import SecretStr, ValidationError

from gateway.errors import ConfigError
from gateway.failpoints import ENVIRONMENT_VARIABLE, parse_failpoints
from gateway.settings._home import resolve_home
from gateway.settings._schema import Settings

__all__ = ["CONFIG_NAME", "load_settings", "read_dotenv", "settings_from_mapping"]

CONFIG_NAME = "bitrouter.yaml"
_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_CAPTURED = re.compile(r".*_(API_KEY|BASE_URL|API_BASE)$")


def read_dotenv(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of a ``.env`` file (``#`` comments, optional quotes)."""
    if not path.exists():
        return {}
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :]
        key, sep, value = line.partition("=")
        if not sep or not key.strip().isidentifier():
            raise ConfigError(f"{path}:{number}: expected KEY=value")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def _expand(node: Any, env: Mapping[str, str], where: str, file: str) -> Any:
    if isinstance(node, dict):
        return {
            k: _expand(v, env, f"{where}.{k}" if where else str(k), file) for k, v in node.items()
        }
    if isinstance(node, list):
        return [_expand(v, env, f"{where}[{i}]", file) for i, v in enumerate(node)]
    if not isinstance(node, str) or "${" not in node:
        return node
    whole = _REF.fullmatch(node)
    if whole and whole.group(1) not in env and whole.group(2) is None:
        return None  # an unset reference means "not configured", e.g. a provider without a key

    def sub(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise ConfigError(f"{file}: {where}: environment variable {name} is not set")

    return _REF.sub(sub, node)


def _describe(error: ValidationError, file: str) -> str:
    first = error.errors()[0]
    path = ".".join(str(p) for p in first["loc"]) or "(top level)"
    kind = first["type"]
    if kind == "extra_forbidden":
        return f"{file}: {path}: unknown key"
    given = first.get("input")
    shown = "" if isinstance(given, dict | list) or given is None else f" (got {given!r})"
    return f"{file}: {path}: {first['msg'].lower()}{shown}"


def settings_from_mapping(
    data: Mapping[str, Any],
    home: Path,
    environ: Mapping[str, str] | None = None,
    *,
    source: str = "settings",
) -> Settings:
    """Settings from an already-parsed mapping (tests, the in-process gateway, the wizard)."""
    env = dict(os.environ if environ is None else environ)
    # Only the process's own environment arms failpoints, never the home's .env file.
    failpoints = parse_failpoints(env.get(ENVIRONMENT_VARIABLE, ""))
    env = {**read_dotenv(home / ".env"), **env}
    if "home" in data:
        raise ConfigError(f"{source}: home: unknown key (the home is where the file lives)")
    if "failpoints" in data:
        raise ConfigError(
            f"{source}: failpoints: unknown key (failpoints are armed by {ENVIRONMENT_VARIABLE})"
        )
    expanded = _expand(dict(data), env, "", source)
    captured = {k: SecretStr(v) for k, v in env.items() if _CAPTURED.match(k) and v}
    try:
        return Settings.model_validate(
            {**expanded, "home": home, "environment": captured, "failpoints": failpoints}
        )
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from None


def load_settings(home: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read ``bitrouter.yaml`` from the home (defaults when it does not exist).

    Raises:
        ConfigError: one line naming the file, the key path and what was expected.
    """
    home = home if home is not None else resolve_home(environ)
    path = home / CONFIG_NAME
    data: Any = {}
    if path.exists():
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or "not valid YAML"
            raise ConfigError(f"{path}:{where}: {problem}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    return settings_from_mapping(data, home, environ, source=str(path))
