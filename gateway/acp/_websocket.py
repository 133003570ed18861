"""The remote transport over a WebSocket on the same path: one JSON-RPC message per text
frame, both ways, everything for the client on the one socket.

The bearer token goes with the upgrade request; a refused caller gets the HTTP error (401/403
with the OpenAI body) instead of a socket. The connection id comes back in the accept's
``Acp-Connection-Id`` header; ``initialize`` is the first message on the socket. Closing the
socket closes the connection and stops its agents.
"""

from __future__ import annotations

import orjson
import trio

from gateway.acp._connection import Connection
from gateway.acp._http import Endpoint
from gateway.acp._jsonrpc import RpcError, decode, error_response
from gateway.acp._outbox import OutboxClosed
from gateway.asgi import Receive, Scope, Send, header
from gateway.errors import AuthError, GatewayError

__all__ = ["serve_websocket"]

_PARSE_ERROR = -32700
_POLICY_VIOLATION = 1008


async def _deny(scope: Scope, send: Send, error: GatewayError) -> None:
    if "websocket.http.response" in scope.get("extensions", {}):
        body = orjson.dumps(error.to_openai())
        headers = [(b"content-type", b"application/json")]
        if isinstance(error, AuthError):
            headers.append((b"www-authenticate", b'Bearer realm="bitrouter"'))
        start = {"type": "websocket.http.response.start", "status": error.status}
        await send({**start, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": _POLICY_VIOLATION})


async def serve_websocket(endpoint: Endpoint, scope: Scope, receive: Receive, send: Send) -> None:
    """One WebSocket on ``/acp``."""
    if (await receive())["type"] != "websocket.connect":
        return
    try:
        principal = await endpoint.authenticate(header(scope, "authorization"))
        connection = await endpoint.open_connection(
            principal, endpoint.agent_for(scope), websocket=True
        )
    except GatewayError as exc:
        await _deny(scope, send, exc)
        return
    accept = [(b"acp-connection-id", connection.id.encode())]
    await send({"type": "websocket.accept", "headers": accept})
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_outgoing, connection, send, nursery.cancel_scope)
            await _incoming(connection, receive)
            nursery.cancel_scope.cancel()
    finally:
        connection.close("the WebSocket closed")


async def _incoming(connection: Connection, receive: Receive) -> None:
    while True:
        frame = await receive()
        if frame["type"] == "websocket.disconnect":
            return
        if frame["type"] != "websocket.receive":
            continue
        data = frame.get("text") or frame.get("bytes") or b""
        message = decode(data)
        if message is None:
            error = RpcError(_PARSE_ERROR, "a frame is not one JSON-RPC message")
            await connection.to_client(error_response(None, error), None)
            continue
        await connection.receive(message)


async def _outgoing(connection: Connection, send: Send, done: trio.CancelScope) -> None:
    box = connection.outbox
    reader = box.attach()
    try:
        with reader:
            while True:
                message = await box.peek()
                await send({"type": "websocket.send", "text": orjson.dumps(message).decode()})
                box.pop()
    except OutboxClosed:
        # The gateway closed the connection (shutdown): close the socket too.
        await send({"type": "websocket.close", "code": 1001})
        done.cancel()
    finally:
        box.detach(reader)
