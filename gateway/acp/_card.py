"""A hosted agent as the gateway knows it: its settings, what it answered to ``initialize``,
and how many sessions it has open.

The agent is asked once (a probe: start it, ``initialize``, stop it) and its answer is kept;
every connection's ``initialize`` is answered from it, and ``GET /v1/agents`` shows it.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import trio
from pydantic import ValidationError

from gateway.acp._environment import agent_environment, working_directory
from gateway.acp._jsonrpc import METHOD_NOT_FOUND, JsonObject, RpcError, error_response, is_request
from gateway.acp._link import AgentLink
from gateway.acp._peer import PeerGone
from gateway.acp._process import AgentProcess
from gateway.errors import GatewayError, UpstreamError, UpstreamTimeout, UpstreamUnavailable
from gateway.settings import AcpAgentSettings

__all__ = ["AgentCard", "launch_argv"]


def _probe_params() -> JsonObject:
    """What the gateway can relay to a remote client; the client's own capabilities are sent to
    the agent of each session, so the probe claims everything a client might have."""
    # the ACP SDK (its pydantic schema: ~10 MB, ~0.7 s to import) loads at first use
    from acp import PROTOCOL_VERSION

    return {
        "protocolVersion": PROTOCOL_VERSION,
        "clientCapabilities": {
            "fs": {"readTextFile": True, "writeTextFile": True},
            "terminal": True,
        },
        "clientInfo": {"name": "bitrouter", "version": "0.1.0"},
    }


def launch_argv(agent: AcpAgentSettings) -> list[str]:
    """The command line of the agent."""
    return [agent.command, *agent.args]


class AgentCard:
    """One configured agent."""

    def __init__(self, settings: AcpAgentSettings, *, home: Path, gateway_url: str) -> None:
        self.settings = settings
        self.active = 0
        self._home = home
        self._gateway_url = gateway_url
        self._initialize: JsonObject | None = None
        self._error: str | None = None
        self._lock = trio.Lock()

    @property
    def name(self) -> str:
        """The agent's name (its id at ``/acp``)."""
        return self.settings.name

    async def initialize_result(self) -> JsonObject:
        """The agent's ``initialize`` result, asking it the first time.

        Raises:
            UpstreamError: the agent could not be started or did not answer properly.
        """
        async with self._lock:
            if self._initialize is None:
                try:
                    self._initialize = await self._probe()
                except GatewayError as exc:
                    self._error = exc.message
                    raise
                self._error = None
            return self._initialize

    def claim(self) -> None:
        """Count one more open session.

        Raises:
            UpstreamUnavailable: the agent already runs ``max_sessions`` sessions.
        """
        if self.active >= self.settings.max_sessions:
            raise UpstreamUnavailable(
                f"the agent '{self.name}' already runs its {self.settings.max_sessions} "
                "sessions; try again when one has ended",
                code="agent_busy",
            )
        self.active += 1

    def release(self) -> None:
        """Count one session less."""
        self.active -= 1

    def describe(self) -> dict[str, Any]:
        """The entry of ``GET /v1/agents``."""
        known = self._initialize or {}
        status = "ready" if self._initialize else ("error" if self._error else "not_started")
        return {
            "id": self.name,
            "object": "agent",
            "description": self.settings.description,
            "price_per_turn_micro_usd": self.settings.price_per_turn,
            "max_sessions": self.settings.max_sessions,
            "active_sessions": self.active,
            "idle_timeout_seconds": self.settings.idle_timeout_seconds,
            "status": status,
            "error": self._error,
            "protocol_version": known.get("protocolVersion"),
            "agent_info": known.get("agentInfo"),
            "capabilities": known.get("agentCapabilities"),
        }

    async def _probe(self) -> JsonObject:
        agent = self.settings
        env = agent_environment(agent, gateway_url=self._gateway_url, token=None)
        outcome: Any = None
        failure: GatewayError | None = None
        async with working_directory(agent, self._home, str(self._home)) as cwd:
            link = AgentLink(AgentProcess(launch_argv(agent), env=env, cwd=cwd, name=agent.name))

            async def refuse(message: JsonObject) -> None:
                if is_request(message):
                    error = RpcError(METHOD_NOT_FOUND, "not available before a session")
                    with contextlib.suppress(PeerGone):
                        await link.process.send(error_response(message["id"], error))

            async with trio.open_nursery() as nursery:
                try:
                    await nursery.start(link.run, refuse)
                    with trio.fail_after(agent.startup_timeout_seconds):
                        outcome = await link.peer.request("initialize", _probe_params())
                except GatewayError as exc:
                    failure = exc
                except trio.TooSlowError:
                    failure = UpstreamTimeout(
                        f"the agent '{agent.name}' did not answer initialize within "
                        f"{agent.startup_timeout_seconds:g} s",
                        code="agent_timeout",
                    )
                except PeerGone as gone:
                    failure = UpstreamUnavailable(gone.reason, code="agent_unavailable")
                except RpcError as error:
                    failure = UpstreamError(
                        f"the agent '{agent.name}' refused initialize: {error.message}",
                        code="agent_error",
                    )
                link.stop("the probe is done")
        if failure is not None:
            raise failure
        return _checked(agent.name, outcome)


def _checked(name: str, result: Any) -> JsonObject:
    from acp.schema import InitializeResponse  # the ACP SDK loads at first use (see _probe_params)

    try:
        InitializeResponse.model_validate(result)
    except ValidationError:
        raise UpstreamError(
            f"the agent '{name}' answered initialize with an invalid result", code="agent_error"
        ) from None
    assert isinstance(result, dict)
    return result
