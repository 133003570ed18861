"""A tool-using ACP agent: ``python -m agents.assistant`` speaks ACP on stdio.

It answers with the model at ``OPENAI_BASE_URL`` (a BitRouter gateway sets it to its own
``/v1`` with a token scoped to the caller), offers the model the tools of the MCP servers it is
given in ``session/new`` (the gateway's ``/mcp``), asks the client's permission before each
tool call, streams its text and tool calls as ``session/update``s, and stops when cancelled.
"""

from agents.assistant._agent import Assistant
from agents.assistant._config import DEFAULT_MODEL, AssistantConfig
from agents.assistant._main import main

__all__ = ["DEFAULT_MODEL", "Assistant", "AssistantConfig", "main"]
