"""The assistant's entry point: configuration from the environment, ACP on stdio."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from typing import cast

from acp import Agent, run_agent

from agents.assistant._agent import Assistant
from agents.assistant._config import AssistantConfig

__all__ = ["main"]


def main() -> None:
    """Run the assistant on stdin/stdout until the client goes away."""
    # stdout carries the protocol: logs go to stderr only.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    config = AssistantConfig.from_environment(os.environ)
    # The SDK routes only the methods an agent defines; the rest answer "method not found".
    agent = cast(Agent, Assistant(config))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_agent(agent))
