"""What the commands share: loading settings, printing JSON, failing with one line."""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any, NoReturn

from gateway.settings import Settings, load_settings, resolve_home

__all__ = ["fail", "gateway_url", "print_json", "settings", "setup_logging"]


def settings() -> Settings:
    """The settings of the home (``$BITROUTER_HOME`` or ``~/.bitrouter``)."""
    return load_settings(resolve_home())


def gateway_url(explicit: str | None, current: Settings | None = None) -> str:
    """``--url``, else ``$BITROUTER_URL``, else the listen address in the home's config."""
    if explicit:
        return explicit.rstrip("/")
    env = os.environ.get("BITROUTER_URL")
    if env:
        return env.rstrip("/")
    current = current or settings()
    host = current.server.host
    host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{host}:{current.server.port}"


def print_json(value: Any) -> None:
    """Machine-readable output."""
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


def fail(message: str, code: int = 1) -> NoReturn:
    """One clear line on stderr, non-zero exit."""
    sys.stderr.write(f"bitrouter: {message}\n")
    raise SystemExit(code)


def setup_logging(level: int = logging.INFO) -> None:
    """Log lines to stderr (the access log is JSON, one line a request)."""
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr)
