"""The home's ``.env``: provider keys that ``bitrouter.yaml`` names as ``${ENV}`` references.

Same format the settings loader reads (``KEY=value``, ``export KEY=value``, ``#`` comments,
optional quotes). Updating keeps every other line, comments included; the file is mode 0600.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from gateway.errors import ConfigError
from gateway.setup._files import write_atomic

__all__ = ["read_dotenv_values", "update_dotenv"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LINE = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)")
_HEADER = "# Provider keys for bitrouter.yaml's ${ENV} references. Keep this file private.\n"


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _quote(name: str, value: str) -> str:
    if any(c in value for c in "\n\r\0"):
        raise ConfigError(f"the value for {name} must be a single line")
    if value != value.strip() or value[:1] in ("'", '"'):
        quote = "'" if '"' in value else '"'
        return f"{quote}{value}{quote}"
    return value


def read_dotenv_values(path: Path) -> dict[str, str]:
    """The ``KEY=value`` pairs of ``path`` (empty when it does not exist)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the file ({exc.strerror})") from None
    values: dict[str, str] = {}
    for raw in text.splitlines():
        match = _LINE.fullmatch(raw)
        if match and not raw.lstrip().startswith("#"):
            values[match.group(1)] = _unquote(match.group(2))
    return values


def update_dotenv(path: Path, values: Mapping[str, str]) -> Path:
    """Set ``values`` in ``path``: replace those keys' lines, append the new ones, keep the rest.

    Raises:
        ConfigError: a name is not a valid variable name or a value spans lines.
    """
    for name in values:
        if not _NAME.fullmatch(name):
            raise ConfigError(f"{name!r} is not a valid environment variable name")
    try:
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    except FileNotFoundError:
        lines = [_HEADER]
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the file ({exc.strerror})") from None
    pending = dict(values)
    kept: list[str] = []
    for raw in lines:
        match = _LINE.fullmatch(raw.rstrip("\n"))
        key = match.group(1) if match and not raw.lstrip().startswith("#") else None
        if key is not None and key in values:
            if key in pending:  # the first line of a key is replaced, repeated ones dropped
                kept.append(f"{key}={_quote(key, pending.pop(key))}\n")
            continue
        kept.append(raw if raw.endswith("\n") else raw + "\n")
    kept.extend(f"{name}={_quote(name, value)}\n" for name, value in pending.items())
    return write_atomic(path, "".join(kept).encode("utf-8"), mode=0o600)
