"""``POST /v1/chat/completions`` served straight from ASGI, in front of the Quart app.

This route is the gateway's hot path. Quart's per-request machinery (request and app contexts,
werkzeug header objects, response wrapping) cost more CPU than the rest of a call, so the
route is answered here; the Quart route in ``_chat.py`` stays registered (OpenAPI, and any
request that arrives before the runtime has started). Behaviour is the Quart route's: the same
token check, body rules, errors in the OpenAI shape, headers, and a client disconnect cancels
the call (the stream is closed shielded, so what was delivered is charged).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import orjson
import trio

from gateway.errors import GatewayError, PayloadTooLarge, UnsupportedMediaType
from gateway.http._auth import authorization_token
from gateway.http._observe import REQUEST_ID_KEY
from gateway.openai_wire import parse_chat_request

if TYPE_CHECKING:
    from quart import Quart

    from gateway.chat import ChatStream
    from gateway.runtime import Runtime

from gateway.asgi import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CHAT_PATH", "FastChat"]


CHAT_PATH = "/v1/chat/completions"
_BODY_TIMEOUT = 60.0  # Quart's BODY_TIMEOUT, which the Quart route applied
_DONE = b"data: [DONE]\n\n"
_JSON = (b"content-type", b"application/json")
_SSE = (
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
)
_WANTED = frozenset({b"authorization", b"x-api-key", b"content-type", b"x-bitrouter-quote"})
_log = logging.getLogger("bitrouter.http")


class _Gone(Exception):
    """The client went away before its request body arrived."""


def _headers(scope: Scope) -> dict[bytes, str]:
    found: dict[bytes, str] = {}
    for name, value in scope["headers"]:
        if name in _WANTED and name not in found:
            found[name] = value.decode("latin-1")
    return found


async def _read_body(receive: Receive, max_body: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    with trio.move_on_after(_BODY_TIMEOUT) as timer:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Gone
            body: bytes = message.get("body", b"")
            more = message.get("more_body", False)
            if not parts and not more:
                size = len(body)
                parts.append(body)
                break
            size += len(body)
            if size > max_body:
                raise PayloadTooLarge("the request body is larger than the server accepts")
            parts.append(body)
            if not more:
                break
    if timer.cancelled_caught:
        raise GatewayError(f"the request body did not arrive within {_BODY_TIMEOUT:g}s")
    if size > max_body:
        raise PayloadTooLarge("the request body is larger than the server accepts")
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _check_json(content_type: str | None) -> None:
    mime = (content_type or "").partition(";")[0].strip().lower()
    if mime != "application/json" and not mime.endswith("+json"):
        raise UnsupportedMediaType(f"expected content-type application/json, got {mime or 'none'}")


async def _send_json(
    send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [_JSON, (b"content-length", str(len(body)).encode())]
    if extra:
        headers.extend(extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_error(send: Send, error: GatewayError) -> None:
    extra = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in error.headers().items()]
    await _send_json(send, error.status, orjson.dumps(error.to_openai()), extra)


async def _watch_disconnect(receive: Receive, scope: trio.CancelScope) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            scope.cancel()
            return


async def _send_stream(send: Send, stream: ChatStream) -> None:
    try:
        headers = [*_SSE, (b"x-bitrouter-provider", stream.provider.encode("latin-1"))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        async for chunk in stream:
            data = b"data: " + orjson.dumps(chunk) + b"\n\n"
            await send({"type": "http.response.body", "body": data, "more_body": True})
        await send({"type": "http.response.body", "body": _DONE})
    finally:
        # Also on a client disconnect (trio.Cancelled): stop the upstream call and record the
        # usage so far — shielded, since the surrounding scope is already cancelled.
        with trio.CancelScope(shield=True):
            await stream.aclose()


class FastChat:
    """ASGI: serves ``POST /v1/chat/completions`` itself and hands everything else to ``app``."""

    def __init__(self, quart: Quart, app: ASGIApp, *, max_body: int) -> None:
        self._extensions = quart.extensions
        self._app = app
        self._max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == CHAT_PATH and scope["method"] == "POST":
            runtime: Runtime | None = self._extensions.get("bitrouter")
            if runtime is not None:
                await self._serve(runtime, scope, receive, send)
                return
        await self._app(scope, receive, send)

    async def _serve(self, runtime: Runtime, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        rid = scope.get(REQUEST_ID_KEY) or "req_unknown"
        try:
            await self._chat(runtime, scope, receive, tracking_send, rid)
        except _Gone:
            return
        except GatewayError as error:
            if not started:
                await _send_error(send, error)
                return
            # The response has begun: all that is left is to cut it short (the server closes
            # the connection since the body never ended).
            _log.error("request %s failed after its response began: %s", rid, error.message)
        except Exception as error:  # the face's top-level handler, as Quart's on_unexpected
            _log.error(
                "unhandled error in request %s: %s", rid, type(error).__name__, exc_info=error
            )
            if not started:
                await _send_error(send, GatewayError(f"internal error (request {rid})"))

    async def _chat(
        self, runtime: Runtime, scope: Scope, receive: Receive, send: Send, rid: str
    ) -> None:
        headers = _headers(scope)
        token = authorization_token(headers.get(b"authorization"), headers.get(b"x-api-key"))
        principal = await runtime.verifier.verify(token, scope="api")
        _check_json(headers.get(b"content-type"))
        body = parse_chat_request(await _read_body(receive, self._max_body))
        quote_id = headers.get(b"x-bitrouter-quote")
        chat = runtime.chat
        failure: BaseException | None = None
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_watch_disconnect, receive, nursery.cancel_scope)
            try:
                if body.stream:
                    stream = await chat.stream(principal, body, request_id=rid, quote_id=quote_id)
                    await _send_stream(send, stream)
                else:
                    result = await chat.complete(principal, body, request_id=rid, quote_id=quote_id)
                    label = str(result["provider"]).encode("latin-1")
                    provider = (b"x-bitrouter-provider", label)
                    await _send_json(send, 200, orjson.dumps(result), [provider])
            except Exception as exc:
                # Raised past the nursery it would come wrapped in an exception group.
                failure = exc
            finally:
                nursery.cancel_scope.cancel()
        if failure is not None:
            raise failure
