"""The assistant's settings, read once from its environment by its entry point.

A gateway that hosts the assistant sets ``OPENAI_BASE_URL`` and ``OPENAI_API_KEY`` (its own
``/v1`` and a token scoped to the caller), so every model call is metered there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["DEFAULT_MODEL", "AssistantConfig"]

DEFAULT_MODEL = "openai/gpt-4o-mini"
_SYSTEM = (
    "You are a helpful assistant. Use the tools you are offered when they help answer the "
    "user; say briefly what you did."
)


@dataclass(frozen=True)
class AssistantConfig:
    """Where the model is, which one, and how long a turn may run."""

    base_url: str | None
    api_key: str
    model: str = DEFAULT_MODEL
    max_steps: int = 8
    max_tokens: int | None = None
    system_prompt: str = _SYSTEM

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> AssistantConfig:
        """``OPENAI_BASE_URL`` (else ``$BITROUTER_URL/v1``), ``OPENAI_API_KEY`` (else
        ``BITROUTER_TOKEN``), ``BITROUTER_AGENT_MODEL``, ``BITROUTER_AGENT_MAX_STEPS``,
        ``BITROUTER_AGENT_MAX_TOKENS``."""
        base_url = env.get("OPENAI_BASE_URL")
        if not base_url and env.get("BITROUTER_URL"):
            base_url = env["BITROUTER_URL"].rstrip("/") + "/v1"
        max_tokens = env.get("BITROUTER_AGENT_MAX_TOKENS")
        return cls(
            base_url=base_url or None,
            api_key=env.get("OPENAI_API_KEY") or env.get("BITROUTER_TOKEN") or "unset",
            model=env.get("BITROUTER_AGENT_MODEL") or DEFAULT_MODEL,
            max_steps=int(env.get("BITROUTER_AGENT_MAX_STEPS") or 8),
            max_tokens=int(max_tokens) if max_tokens else None,
        )
