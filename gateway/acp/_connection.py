"""One remote client connection: its caller, its agent, its sessions and its outgoing streams.

A connection is made by ``initialize`` (HTTP) or by the WebSocket upgrade, and bound to the
caller who made it and to one hosted agent. The client's messages are taken in the order they
arrived and dispatched: ``session/new`` starts a session (an agent process), session messages go
to their session, answers to the gateway's requests resolve them. Messages for the client go to
the session's stream when the client has one open, else to the connection's stream.

An HTTP connection whose client has no stream open and sends nothing for the agent's
``disconnect_grace_seconds`` is closed; a WebSocket connection closes with its socket. Closing a
connection stops its sessions' agents and releases their open turns.
"""

from __future__ import annotations

import logging
import secrets
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import trio
from pydantic import ValidationError

from gateway.acp._card import AgentCard
from gateway.acp._jsonrpc import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    JsonObject,
    RpcError,
    error_response,
    invalid_params,
    is_request,
    is_response,
    result_response,
    session_id_of,
)
from gateway.acp._outbox import Outbox
from gateway.acp._peer import Peer
from gateway.acp._session import Session, SessionServices
from gateway.errors import BadRequest, GatewayError, NotFound
from gateway.identity import Principal

__all__ = ["Connection", "advertised"]

_log = logging.getLogger("bitrouter.acp")
_REMEMBERED_ENDINGS = 64


def advertised(agent_init: JsonObject, client_version: int, card: AgentCard) -> JsonObject:
    """The ``initialize`` result a client gets: the agent's, less what the gateway does not
    relay (loading, listing or forking sessions, the client's own MCP servers, agent login)."""
    capabilities = dict(agent_init.get("agentCapabilities") or {})
    capabilities["loadSession"] = False
    capabilities["sessionCapabilities"] = {"close": {}}
    capabilities["mcpCapabilities"] = {"http": False, "sse": False}
    capabilities.pop("auth", None)
    agent_version = agent_init.get("protocolVersion", client_version)
    return {
        "protocolVersion": min(client_version, agent_version),
        "agentCapabilities": capabilities,
        "authMethods": [],
        "agentInfo": agent_init.get("agentInfo"),
        "_meta": {
            "bitrouter/agent": card.name,
            "bitrouter/price_per_turn_micro_usd": card.settings.price_per_turn,
        },
    }


class Connection:
    """Run it in the face's nursery with :meth:`run`; hand it the client's messages with
    :meth:`receive`."""

    def __init__(
        self,
        *,
        principal: Principal,
        card: AgentCard,
        services: SessionServices,
        websocket: bool,
        on_sessions: Callable[[], None],
    ) -> None:
        self.id = secrets.token_hex(16)
        self.principal = principal
        self.card = card
        self.websocket = websocket
        self.client = Peer(self._to_client_routed)
        self.client_init: JsonObject = {}
        self.outbox = Outbox(self._changed)
        self.sessions: dict[str, Session] = {}
        self._services = services
        self._on_sessions = on_sessions
        self._session_boxes: dict[str, Outbox] = {}
        self._endings: OrderedDict[str, str] = OrderedDict()
        self._inbound_send, self._inbound = trio.open_memory_channel[JsonObject](256)
        self._initialized = False
        self._scope = trio.CancelScope()
        self._change = trio.Event()
        self._nursery: trio.Nursery | None = None
        self.closed = trio.Event()

    @property
    def background(self) -> trio.Nursery:
        """The connection's nursery (tasks that end with the connection)."""
        assert self._nursery is not None
        return self._nursery

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve the connection until it is closed."""
        try:
            with self._scope:
                async with trio.open_nursery() as nursery:
                    self._nursery = nursery
                    nursery.start_soon(self._dispatch_inbound)
                    if not self.websocket:
                        nursery.start_soon(self._watch_streams)
                    task_status.started()
        finally:
            self._inbound_send.close()
            self.client.close("the client connection was closed")
            self.outbox.close()
            for box in self._session_boxes.values():
                box.close()
            self.closed.set()

    def close(self, reason: str) -> None:
        """Close the connection: its sessions' agents are stopped."""
        if not self._scope.cancel_called:
            _log.info("ACP connection %s closed: %s", self.id[:8], reason)
        self._scope.cancel()

    async def initialize(self, params: Any) -> JsonObject:
        """Answer the client's ``initialize``.

        Raises:
            BadRequest: the parameters are not an ACP ``initialize``.
            UpstreamError: the agent could not be started or did not answer.
        """
        # the ACP SDK (its pydantic schema: ~10 MB, ~0.7 s to import) loads at first use
        from acp.schema import InitializeRequest

        try:
            request = InitializeRequest.model_validate(params)
        except ValidationError as exc:
            invalid = invalid_params("initialize", exc)
            raise BadRequest(invalid.message, param=invalid.data["param"]) from None
        agent_init = await self.card.initialize_result()
        assert isinstance(params, dict)
        self.client_init = params
        self._initialized = True
        return advertised(agent_init, request.protocol_version, self.card)

    async def receive(self, message: JsonObject) -> None:
        """Take one message of the client (dispatched in arrival order).

        Raises:
            NotFound: the connection has been closed.
        """
        self._changed()
        try:
            await self._inbound_send.send(message)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise NotFound("the ACP connection is closed", code="unknown_connection") from None

    def has_session(self, session_id: str) -> bool:
        """Whether ``session_id`` is an open session of this connection."""
        return session_id in self.sessions

    def outbox_for(self, session_id: str | None) -> Outbox | None:
        """The outbox a GET stream reads: the session's, or the connection's."""
        if session_id is None:
            return self.outbox
        return self._session_boxes.get(session_id)

    async def to_client(self, message: JsonObject, session_id: str | None) -> None:
        """Send to the client: on the session's stream if the client reads one."""
        box = self._session_boxes.get(session_id) if session_id is not None else None
        if box is None or box.closed or not box.attached:
            box = self.outbox
        await box.put(message)

    async def _to_client_routed(self, message: JsonObject) -> None:
        await self.to_client(message, session_id_of(message))

    def _changed(self) -> None:
        self._change.set()
        self._change = trio.Event()

    async def _watch_streams(self) -> None:
        grace = self.card.settings.disconnect_grace_seconds
        while True:
            change = self._change
            boxes = (self.outbox, *self._session_boxes.values())
            if any(box.attached for box in boxes):
                await change.wait()
                continue
            with trio.move_on_after(grace):
                await change.wait()
                continue
            self.close(f"the client had no stream open for {grace:g} s")
            return

    async def _dispatch_inbound(self) -> None:
        async for message in self._inbound:
            await self._dispatch(message)

    async def _dispatch(self, message: JsonObject) -> None:
        if is_response(message):
            self.client.resolve(message)
            return
        method, request_id = message.get("method"), message.get("id")
        if not isinstance(method, str):
            if request_id is not None:
                await self._reply(request_id, RpcError(INVALID_REQUEST, "not a JSON-RPC message"))
            return
        if method == "initialize" and is_request(message) and not self._initialized:
            self.background.start_soon(self._initialize_in_band, message)
        elif not self._initialized:
            if is_request(message):
                await self._reply(request_id, RpcError(INVALID_REQUEST, "initialize first"))
        elif method == "session/new" and is_request(message):
            self.background.start_soon(self._new_session, message)
        elif method == "authenticate" and is_request(message):
            # The caller proved who it is with its bearer token; agents need no login here.
            await self.to_client(result_response(request_id, {}), None)
        elif (session_id := session_id_of(message)) is not None:
            await self._to_session(session_id, message)
        elif is_request(message):
            missing = RpcError(METHOD_NOT_FOUND, f"{method} is not offered by this gateway")
            await self._reply(request_id, missing)

    async def _to_session(self, session_id: str, message: JsonObject) -> None:
        session = self.sessions.get(session_id)
        if session is not None:
            await session.from_client(message)
        elif is_request(message):
            why = self._endings.get(session_id)
            text = f"unknown session {session_id!r}" + (f" (it ended: {why})" if why else "")
            await self._reply(message["id"], RpcError(INVALID_PARAMS, text))

    async def _reply(self, request_id: Any, error: RpcError) -> None:
        await self.to_client(error_response(request_id, error), None)

    async def _initialize_in_band(self, message: JsonObject) -> None:
        # The WebSocket profile: initialize is the first message on the socket.
        try:
            result = await self.initialize(message.get("params"))
        except GatewayError as exc:
            await self._reply(message["id"], RpcError.from_gateway(exc))
            return
        await self.to_client(result_response(message["id"], result), None)

    async def _new_session(self, message: JsonObject) -> None:
        from acp.schema import NewSessionRequest  # the ACP SDK loads at first use

        params = message.get("params")
        try:
            request = NewSessionRequest.model_validate(params)
        except ValidationError as exc:
            await self._reply(message["id"], invalid_params("session/new", exc))
            return
        if request.mcp_servers:
            # A remote client's MCP servers would run on this host (stdio) or escape metering.
            _log.info("ACP session/new: ignoring %d client MCP servers", len(request.mcp_servers))
        session_id = f"sess_{secrets.token_hex(12)}"
        session = Session(
            session_id,
            card=self.card,
            principal=self.principal,
            client=self,
            services=self._services,
        )
        self.sessions[session_id] = session
        self._session_boxes[session_id] = Outbox(self._changed)
        try:
            opened = await self.background.start(self._run_session, session, {"cwd": request.cwd})
        except RpcError as error:
            await self._reply(message["id"], error)
            return
        self._on_sessions()
        await self.to_client(result_response(message["id"], opened), None)
        await session.opened()

    async def _run_session(
        self, session: Session, params: JsonObject, *, task_status: trio.TaskStatus[JsonObject]
    ) -> None:
        try:
            await session.run(params, task_status=task_status)
        except Exception:
            # A broken session must not take the connection's other sessions with it.
            if not session.started:
                raise
            _log.exception("ACP session %s failed", session.id)
        finally:
            self.sessions.pop(session.id, None)
            box = self._session_boxes.pop(session.id, None)
            if box is not None:
                box.close()
            self._endings[session.id] = session.end_reason or "it ended"
            while len(self._endings) > _REMEMBERED_ENDINGS:
                self._endings.popitem(last=False)
            self._changed()
            self._on_sessions()
