"""What a hosted agent process is given: its environment, its working directory, and the
gateway's MCP endpoint.

Every way the agent can spend goes back through this gateway with a token scoped to the caller:
its model calls (``OPENAI_BASE_URL``/``OPENAI_API_KEY``) and its tool calls (the gateway's
``/mcp`` added to ``session/new``). The gateway's own environment is not inherited (it holds
provider keys); only the few variables a program needs to run are (the SDKs' choice).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import trio

from gateway.errors import BadRequest
from gateway.settings import AcpAgentSettings

__all__ = ["MCP_SERVER_NAME", "agent_environment", "gateway_mcp_server", "working_directory"]

MCP_SERVER_NAME = "bitrouter"


def agent_environment(
    agent: AcpAgentSettings, *, gateway_url: str, token: str | None
) -> dict[str, str]:
    """The agent's environment: the basics, the operator's ``env``, then the gateway's own
    variables (which the operator cannot override, so that every call is metered)."""
    # the ACP SDK (its pydantic schema: ~10 MB, ~0.7 s to import) loads at first use
    from acp.transports import default_environment

    env = default_environment()
    env.update(agent.env)
    env["BITROUTER_URL"] = gateway_url
    if token is not None:
        env["BITROUTER_TOKEN"] = token
        env["OPENAI_BASE_URL"] = f"{gateway_url}/v1"
        env["OPENAI_API_KEY"] = token
    return env


def gateway_mcp_server(gateway_url: str, token: str) -> dict[str, Any]:
    """The gateway's ``/mcp`` as an ACP ``McpServer`` (HTTP), authorised as the caller."""
    return {
        "type": "http",
        "name": MCP_SERVER_NAME,
        "url": f"{gateway_url}/mcp",
        "headers": [{"name": "Authorization", "value": f"Bearer {token}"}],
    }


@contextlib.asynccontextmanager
async def working_directory(
    agent: AcpAgentSettings, home: Path, client_cwd: str
) -> AsyncIterator[Path]:
    """The session's working directory under the agent's ``cwd`` policy: a fresh temporary
    folder (removed afterwards), a folder of the agent's own in the home, or the client's.

    Raises:
        BadRequest: policy ``client`` and the client's ``cwd`` is not a folder on this host.
    """
    if agent.cwd == "client":
        path = Path(client_cwd)
        if not path.is_absolute() or not path.is_dir():
            raise BadRequest(
                f"cwd: {client_cwd!r} is not a folder on the gateway's host", param="cwd"
            )
        yield path
    elif agent.cwd == "home":
        path = home / "acp" / agent.name
        path.mkdir(parents=True, exist_ok=True)
        yield path
    else:
        path = Path(tempfile.mkdtemp(prefix=f"bitrouter-acp-{agent.name}-"))
        try:
            yield path
        finally:
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(shutil.rmtree, path, True)
