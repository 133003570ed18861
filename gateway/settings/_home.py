"""Where the home folder is, and making sure it exists with the right mode."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

__all__ = ["ensure_home", "resolve_home"]


def resolve_home(environ: Mapping[str, str] | None = None) -> Path:
    """``$BITROUTER_HOME``, else ``~/.bitrouter``."""
    env = os.environ if environ is None else environ
    value = env.get("BITROUTER_HOME")
    return Path(value).expanduser() if value else Path.home() / ".bitrouter"


def ensure_home(home: Path) -> Path:
    """Create the home (mode 0700) if missing and tighten its mode if it is looser."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    if home.stat().st_mode & 0o077:
        home.chmod(0o700)
    return home
