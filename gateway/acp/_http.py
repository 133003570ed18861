"""The remote transport over HTTP: POST JSON-RPC, GET server-sent events, DELETE.

- ``POST /acp`` carries one JSON-RPC message. ``initialize`` makes a connection and is answered
  at once (200, the result, and ``Acp-Connection-Id``); every other message names its
  connection (and, for a session, may name it in ``Acp-Session-Id``) and is answered 202: its
  response comes on a stream.
- ``GET /acp`` with ``Acp-Connection-Id`` is the connection's stream of messages to the client;
  with ``Acp-Session-Id`` too, that session's stream. One reader per stream; a new GET takes
  over. Idle streams get a keep-alive comment every 15 s.
- ``DELETE /acp`` closes the connection and stops its agents.

Every request carries the caller's bearer token and is refused (401/403) before anything else
happens; a connection answers only the caller who made it.
"""

from __future__ import annotations

from typing import Protocol

import trio

from gateway.acp._card import AgentCard
from gateway.acp._connection import Connection
from gateway.acp._jsonrpc import decode, encode, is_request, result_response
from gateway.acp._outbox import Outbox, OutboxClosed
from gateway.asgi import Receive, Scope, Send, header, read_body, send_error, send_json
from gateway.errors import (
    BadRequest,
    GatewayError,
    MethodNotAllowed,
    NotFound,
    UnsupportedMediaType,
)
from gateway.identity import Principal

__all__ = ["CONNECTION_HEADER", "SESSION_HEADER", "Endpoint", "serve_http"]

CONNECTION_HEADER = "Acp-Connection-Id"
SESSION_HEADER = "Acp-Session-Id"
_KEEPALIVE_SECONDS = 15.0
_KEEPALIVE = b": keepalive\n\n"
_SSE_HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


class Endpoint(Protocol):
    """What the transports need from the face."""

    max_body_bytes: int

    async def authenticate(self, authorization: str | None) -> Principal:
        """The caller, or AuthError/Forbidden."""
        ...

    def agent_for(self, scope: Scope) -> AgentCard:
        """The agent the request's path (``/acp/NAME``) or ``?agent=`` names."""
        ...

    async def open_connection(
        self, principal: Principal, card: AgentCard, *, websocket: bool
    ) -> Connection:
        """A new running connection."""
        ...

    def connection(self, connection_id: str | None, principal: Principal) -> Connection:
        """The caller's open connection of that id, or NotFound/BadRequest."""
        ...


async def serve_http(endpoint: Endpoint, scope: Scope, receive: Receive, send: Send) -> None:
    """One HTTP request to ``/acp``."""
    try:
        principal = await endpoint.authenticate(header(scope, "authorization"))
        method = scope["method"]
        if method == "POST":
            await _post(endpoint, principal, scope, receive, send)
        elif method == "GET":
            await _get(endpoint, principal, scope, receive, send)
        elif method == "DELETE":
            connection = endpoint.connection(header(scope, CONNECTION_HEADER), principal)
            connection.close("the client closed the connection")
            await send_json(send, 202, None)
        else:
            raise MethodNotAllowed(f"{method} is not allowed on /acp (POST, GET, DELETE)")
    except GatewayError as exc:
        await send_error(send, exc)


async def _post(
    endpoint: Endpoint, principal: Principal, scope: Scope, receive: Receive, send: Send
) -> None:
    content_type = (header(scope, "content-type") or "").lower()
    if not content_type.startswith("application/json"):
        raise UnsupportedMediaType("POST /acp takes one JSON-RPC message as application/json")
    message = decode(await read_body(receive, endpoint.max_body_bytes))
    if message is None:
        raise BadRequest("the body is not one JSON-RPC message (batches are not supported)")
    if message.get("method") == "initialize" and is_request(message):
        connection = await endpoint.open_connection(
            principal, endpoint.agent_for(scope), websocket=False
        )
        try:
            result = await connection.initialize(message.get("params"))
        except BaseException:
            connection.close("initialize failed")
            raise
        body = result_response(message["id"], result)
        await send_json(send, 200, body, {CONNECTION_HEADER: connection.id})
        return
    connection = endpoint.connection(header(scope, CONNECTION_HEADER), principal)
    session_id = header(scope, SESSION_HEADER)
    if session_id is not None and not connection.has_session(session_id):
        raise NotFound(f"unknown ACP session {session_id!r} on this connection")
    await connection.receive(message)
    await send_json(send, 202, None)


async def _get(
    endpoint: Endpoint, principal: Principal, scope: Scope, receive: Receive, send: Send
) -> None:
    accept = header(scope, "accept") or "*/*"
    if "text/event-stream" not in accept and "*/*" not in accept:
        raise BadRequest("GET /acp is a stream of server-sent events: accept text/event-stream")
    connection = endpoint.connection(header(scope, CONNECTION_HEADER), principal)
    session_id = header(scope, SESSION_HEADER)
    box = connection.outbox_for(session_id)
    if box is None:
        raise NotFound(f"unknown ACP session {session_id!r} on this connection")
    # Attached before the headers go out: a client that has the 200 gets every later message.
    reader = box.attach()
    try:
        await send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
        gone = False
        async with trio.open_nursery() as nursery:

            async def watch() -> None:
                nonlocal gone
                while (await receive())["type"] != "http.disconnect":
                    pass
                gone = True
                nursery.cancel_scope.cancel()

            nursery.start_soon(watch)
            with reader:
                await _pump(box, send)
            nursery.cancel_scope.cancel()
        if not gone:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        box.detach(reader)


async def _pump(box: Outbox, send: Send) -> None:
    try:
        while True:
            with trio.move_on_after(_KEEPALIVE_SECONDS) as idle:
                message = await box.peek()
            if idle.cancelled_caught:
                await send({"type": "http.response.body", "body": _KEEPALIVE, "more_body": True})
                continue
            frame = b"data: " + encode(message) + b"\n\n"
            await send({"type": "http.response.body", "body": frame, "more_body": True})
            box.pop()
    except OutboxClosed:
        pass
