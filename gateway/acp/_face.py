"""``AcpFace``: the ``/acp`` endpoint, its hosted agents and every connection's sessions.

The face owns a nursery for the app's lifetime (:meth:`AcpFace.run`): every connection, every
session and every agent subprocess lives in it, so a shutdown stops them all. Agents are named
by path (``/acp/NAME``) or ``?agent=NAME``; plain ``/acp`` is the one agent when only one is
configured.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

import trio

from gateway.acp._card import AgentCard
from gateway.acp._connection import Connection
from gateway.acp._http import serve_http
from gateway.acp._ports import Authenticate, SessionToken, SpendGuard
from gateway.acp._session import SessionServices
from gateway.acp._websocket import serve_websocket
from gateway.asgi import Receive, Scope, Send, answer_lifespan, query_value
from gateway.errors import BadRequest, ConfigError, GatewayError, NotFound, UpstreamUnavailable
from gateway.identity import Principal
from gateway.settings import Settings

__all__ = ["AcpFace"]

_log = logging.getLogger("bitrouter.acp")


class AcpFace:
    """Hosted ACP agents at ``/acp``, behind the gateway's token and spending limits.

    Args:
        settings: the gateway's settings (``acp_agents``, ``server.max_body_bytes``, the home).
        authenticate: turns an ``Authorization`` header into the caller.
        spend: reserves and charges each turn's price.
        session_token: mints the caller-scoped token each session's agent gets.
        gateway_url: this gateway's base URL as the agents reach it (``http://127.0.0.1:8787``).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        authenticate: Authenticate,
        spend: SpendGuard[Any],
        session_token: SessionToken,
        gateway_url: str,
    ) -> None:
        names = Counter(agent.name for agent in settings.acp_agents)
        repeated = [name for name, count in names.items() if count > 1]
        if repeated:
            raise ConfigError(f"acp_agents: the name {repeated[0]!r} is used more than once")
        url = gateway_url.rstrip("/")
        self.max_body_bytes = settings.server.max_body_bytes
        self._authenticate = authenticate
        self._cards = {
            agent.name: AgentCard(agent, home=settings.home, gateway_url=url)
            for agent in settings.acp_agents
        }
        self._services = SessionServices(spend, session_token, url, settings.home)
        self._connections: dict[str, Connection] = {}
        self._nursery: trio.Nursery | None = None
        self._change = trio.Event()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve until cancelled (run it in the app's nursery); on the way out every
        connection is closed and every agent process stopped.

        Reports started at once; each agent is asked for its capabilities in the background.
        """
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            for card in self._cards.values():
                nursery.start_soon(self._warm_up, card)
            try:
                task_status.started()
                await trio.sleep_forever()
            finally:
                self._nursery = None

    async def asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI app of every request to ``/acp`` and below (HTTP and WebSocket)."""
        if scope["type"] == "http":
            await serve_http(self, scope, receive, send)
        elif scope["type"] == "websocket":
            await serve_websocket(self, scope, receive, send)
        elif scope["type"] == "lifespan":
            await answer_lifespan(receive, send)

    def list_agents(self) -> list[dict[str, Any]]:
        """The hosted agents with their prices, limits and capabilities (``GET /v1/agents``)."""
        return [card.describe() for card in self._cards.values()]

    async def describe_agents(self) -> list[dict[str, Any]]:
        """Like :meth:`list_agents`, after asking every agent not yet asked."""
        for card in self._cards.values():
            with contextlib.suppress(GatewayError):
                await card.initialize_result()
        return self.list_agents()

    def sessions(self) -> list[dict[str, Any]]:
        """Every open session: id, agent, connection, caller and agent process id."""
        return [
            {
                "id": session.id,
                "agent": session.card.name,
                "connection": connection.id,
                "identity": connection.principal.identity,
                "pid": session.pid,
            }
            for connection in self._connections.values()
            for session in connection.sessions.values()
            if session.started
        ]

    async def wait_sessions(
        self, predicate: Callable[[list[dict[str, Any]]], bool]
    ) -> list[dict[str, Any]]:
        """Wait until :meth:`sessions` satisfies ``predicate``; returns them."""
        while True:
            change = self._change
            sessions = self.sessions()
            if predicate(sessions):
                return sessions
            await change.wait()

    # -- the transports' view (gateway.acp._http.Endpoint) ----------------------------------

    async def authenticate(self, authorization: str | None) -> Principal:
        """The caller of an ``Authorization`` header value.

        Raises:
            AuthError, Forbidden: as the injected authenticator decides.
        """
        return await self._authenticate(authorization)

    def agent_for(self, scope: Scope) -> AgentCard:
        """The agent a request names.

        Raises:
            NotFound: no such agent, or none named while several are hosted.
        """
        name = query_value(scope, "agent") or _agent_in_path(str(scope.get("path", "")))
        known = ", ".join(self._cards) or "none"
        if name is None:
            if len(self._cards) == 1:
                return next(iter(self._cards.values()))
            raise NotFound(f"name the agent: /acp/NAME (hosted agents: {known})")
        card = self._cards.get(name)
        if card is None:
            raise NotFound(f"unknown agent {name!r} (hosted agents: {known})", code="unknown_agent")
        return card

    async def open_connection(
        self, principal: Principal, card: AgentCard, *, websocket: bool
    ) -> Connection:
        """A new connection, running in the face's nursery.

        Raises:
            UpstreamUnavailable: the face is not running.
        """
        nursery = self._nursery
        if nursery is None:
            raise UpstreamUnavailable("the ACP endpoint is starting or stopping")
        connection = Connection(
            principal=principal,
            card=card,
            services=self._services,
            websocket=websocket,
            on_sessions=self._sessions_changed,
        )
        await nursery.start(self._run_connection, connection)
        return connection

    def connection(self, connection_id: str | None, principal: Principal) -> Connection:
        """The caller's open connection ``connection_id``.

        Raises:
            BadRequest: no ``Acp-Connection-Id`` header.
            NotFound: no such connection of this caller (closed, or never made).
        """
        if not connection_id:
            raise BadRequest("missing Acp-Connection-Id header (send initialize first)")
        connection = self._connections.get(connection_id)
        if connection is None or connection.principal.identity != principal.identity:
            raise NotFound(
                "unknown ACP connection (it may have been closed); send initialize again",
                code="unknown_connection",
            )
        return connection

    async def _run_connection(
        self, connection: Connection, *, task_status: trio.TaskStatus[None]
    ) -> None:
        self._connections[connection.id] = connection
        try:
            await connection.run(task_status=task_status)
        except Exception:
            # The face's top level: one broken connection must not stop the others.
            _log.exception("ACP connection %s failed", connection.id[:8])
        finally:
            del self._connections[connection.id]
            self._sessions_changed()

    def _sessions_changed(self) -> None:
        self._change.set()
        self._change = trio.Event()

    async def _warm_up(self, card: AgentCard) -> None:
        try:
            await card.initialize_result()
        except GatewayError as exc:
            _log.warning("ACP agent %s is not available: %s", card.name, exc.message)


def _agent_in_path(path: str) -> str | None:
    parts = [part for part in path.split("/") if part]
    if "acp" not in parts:
        return None
    rest = parts[len(parts) - parts[::-1].index("acp") :]
    if len(rest) > 1:
        raise NotFound(f"no route {path}", code="unknown_route")
    return rest[0] if rest else None
