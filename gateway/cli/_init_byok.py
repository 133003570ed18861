"""The wizard's Bring-Your-Own-Key questions: which provider keys to use."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from gateway.catalog import load_catalog
from gateway.cli._prompts import Asker
from gateway.setup import ProviderKey, provider_keys, read_dotenv_values

__all__ = ["ask_provider_keys"]


def ask_provider_keys(ask: Asker, home: Path, say: Callable[[str], None]) -> list[ProviderKey]:
    """Keys found in the environment or ``.env``; the featured ones that are missing are asked
    for (masked, Enter skips)."""
    found = provider_keys(load_catalog(), os.environ, read_dotenv_values(home / ".env"))
    chosen: list[ProviderKey] = []
    for key in found:
        if key.value:
            say(f"  ✓ {key.env_var} found in the {key.source} ({key.name})")
            chosen.append(key)
    for key in found:
        if key.value or not key.featured:
            continue
        label = key.name if key.name.endswith(" API") else f"{key.name} API"
        typed = ask.secret(f"{label} key ({key.env_var}; Enter to skip):")
        if typed:
            chosen.append(key.typed(typed))
    if not chosen:
        say(
            "  ! No provider key: the built-in simulator answers every model (not a real model) "
            "until you add a key to .env and run `bitrouter init` again"
        )
    return chosen
