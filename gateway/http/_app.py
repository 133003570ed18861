"""``create_app(settings)``: the one place the HTTP face is assembled."""

from __future__ import annotations

import contextlib
from typing import cast

from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException

from gateway.asgi import ASGIApp
from gateway.errors import GatewayError
from gateway.http import (
    _admin,
    _agents,
    _chat,
    _models,
    _system,
    _tools,
    _transactions,
    _usage,
)
from gateway.http._fastchat import FastChat
from gateway.http._mounts import Mounts
from gateway.http._observe import ObserveMiddleware
from gateway.http._respond import on_gateway_error, on_http_exception, on_unexpected
from gateway.metrics import Metrics
from gateway.runtime import open_runtime
from gateway.settings import Settings

__all__ = ["create_app"]

_FACES = (_system, _models, _chat, _usage, _transactions, _tools, _agents, _admin)


def create_app(settings: Settings) -> QuartTrio:
    """The gateway's ASGI app; services start with the app and stop with it."""
    app = QuartTrio("bitrouter")
    app.config["MAX_CONTENT_LENGTH"] = settings.server.max_body_bytes
    app.config["BITROUTER_ROUTES"] = tuple(spec for face in _FACES for spec in face.ROUTES)
    metrics = Metrics()
    for face in _FACES:
        app.register_blueprint(face.blueprint())
    app.register_error_handler(GatewayError, on_gateway_error)
    app.register_error_handler(HTTPException, on_http_exception)
    app.register_error_handler(Exception, on_unexpected)
    stack = contextlib.AsyncExitStack()

    @app.before_serving
    async def start() -> None:
        app.extensions["bitrouter"] = await stack.enter_async_context(
            open_runtime(settings, app.nursery, metrics)
        )

    @app.after_serving
    async def stop() -> None:
        await stack.aclose()

    paths = frozenset(spec.path for spec in app.config["BITROUTER_ROUTES"])
    quart_asgi = cast(ASGIApp, app.asgi_app)
    app.asgi_app = ObserveMiddleware(  # type: ignore[method-assign,assignment]
        # POST /v1/chat/completions is answered by FastChat before Quart (the hot path).
        FastChat(app, Mounts(app, quart_asgi), max_body=settings.server.max_body_bytes),
        metrics,
        paths,
        log=settings.server.access_log,
        max_body=settings.server.max_body_bytes,
    )
    return app
