"""The ACP face: hosted agents at ``/acp``, metered to the caller.

An ACP client (an editor, another agent, a notebook) reaches an agent hosted by the gateway over
the network; each session runs the agent as a subprocess over stdio, pointed at this gateway for
its model calls (``OPENAI_BASE_URL``) and tool calls (``/mcp``) with a token scoped to the
caller, so that everything it spends is charged to the caller and stops at the caller's caps.
See ``specs/acp.md``.

Typical wiring (the composition root)::

    face = AcpFace(settings, authenticate=..., spend=ledger_guard,
                   session_token=identity.session_token, gateway_url="http://127.0.0.1:8787")
    await nursery.start(face.run)          # owns every connection, session and agent process
    # route every path under /acp (HTTP and WebSocket) to face.asgi;
    # GET /v1/agents uses face.list_agents()
"""

from gateway.acp._face import AcpFace
from gateway.acp._ports import Authenticate, SessionToken, SpendGuard
from gateway.metering import MemoryHold, MemorySpendGuard

__all__ = [
    "AcpFace",
    "Authenticate",
    "MemoryHold",
    "MemorySpendGuard",
    "SessionToken",
    "SpendGuard",
]
