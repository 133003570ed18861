"""Chat completions, quotes and route explanations over HTTP (OpenAI-compatible)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import trio
from pydantic import BaseModel
from quart import Blueprint, Response, request

from gateway.chat import ChatStream
from gateway.http._auth import authenticate
from gateway.http._body import read_body
from gateway.http._openapi import RouteSpec
from gateway.http._respond import json_response, request_id
from gateway.http._state import runtime
from gateway.openai_wire import ChatRequest, parse_chat_request

__all__ = ["ROUTES", "blueprint"]

_SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}
_DONE = b"data: [DONE]\n\n"


class RouteQuery(BaseModel):
    """``GET /v1/route``: the model to explain."""

    model: str


ROUTES = (
    RouteSpec(
        "POST",
        "/v1/chat/completions",
        "OpenAI Chat Completions, routed to the best provider (SSE with stream: true); "
        "header x-bitrouter-quote binds the call to a quote",
        "api",
        request=ChatRequest,
        streams=True,
    ),
    RouteSpec(
        "POST", "/v1/quotes", "A binding price quote for a chat request", "api", request=ChatRequest
    ),
    RouteSpec(
        "GET",
        "/v1/route",
        "The ranked provider candidates for a model, with reasons",
        "api",
        query=RouteQuery,
    ),
)


async def _events(stream: ChatStream) -> AsyncIterator[bytes]:
    try:
        async for chunk in stream:
            yield b"data: " + orjson.dumps(chunk) + b"\n\n"
        yield _DONE
    finally:
        # Also on a client disconnect (trio.Cancelled): stop the upstream call and record the
        # usage so far — shielded, since the surrounding scope is already cancelled.
        with trio.CancelScope(shield=True):
            await stream.aclose()


async def _chat_request() -> ChatRequest:
    return parse_chat_request(await read_body())


def blueprint() -> Blueprint:
    """The chat routes."""
    bp = Blueprint("chat", __name__)

    @bp.post("/v1/chat/completions")
    async def chat() -> Response:
        principal = await authenticate("api")
        body = await _chat_request()
        chat_service = runtime().chat
        quote_id = request.headers.get("x-bitrouter-quote")
        rid = request_id()
        if body.stream:
            stream = await chat_service.stream(principal, body, request_id=rid, quote_id=quote_id)
            headers = {**_SSE_HEADERS, "x-bitrouter-provider": stream.provider}
            response = Response(_events(stream), content_type="text/event-stream", headers=headers)
            response.timeout = None
            return response
        result = await chat_service.complete(principal, body, request_id=rid, quote_id=quote_id)
        return json_response(result, headers={"x-bitrouter-provider": str(result["provider"])})

    @bp.post("/v1/quotes")
    async def quote() -> Response:
        principal = await authenticate("api")
        body = await _chat_request()
        made = await runtime().chat.quote(principal, body)
        return json_response(made.to_dict())

    @bp.get("/v1/route")
    async def route() -> Response:
        await authenticate("api")
        model = request.args.get("model", "")
        decision: Any = runtime().chat.route_explain(model)
        return json_response(decision.to_dict())

    return bp
