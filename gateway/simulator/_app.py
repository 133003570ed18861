"""The simulator's HTTP app: provider routes (per-provider prefix) and the ``/_sim`` control plane.

Each simulated provider lives under ``/p/{provider}/``; the same routes without the prefix
belong to the provider ``default``. The first path segment is what tells providers apart, so
one simulator can stand in for many upstreams at once.
"""

from __future__ import annotations

from typing import Any

import orjson
from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, Scope
from pydantic import ValidationError
from quart import Response, request
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException

from gateway.simulator._anthropic import ANTHROPIC
from gateway.simulator._ask import ask_error
from gateway.simulator._config import SimulatorConfig
from gateway.simulator._control import FAULT_KINDS, Control
from gateway.simulator._faults import error_response, json_response, mark_responses
from gateway.simulator._gemini import GOOGLE
from gateway.simulator._handle import credential, handle_call
from gateway.simulator._openai import OPENAI
from gateway.simulator._state import FaultOrder, SimulatorState
from gateway.simulator._wire import Wire

__all__ = ["DEFAULT_PROVIDER", "SIMULATED_MODELS", "create_simulator_app"]

DEFAULT_PROVIDER = "default"
SIMULATED_MODELS = ("sim-small", "sim-large")
_GEMINI_ACTIONS = {"generateContent": False, "streamGenerateContent": True}


class _SimulatorQuart(QuartTrio):
    """QuartTrio whose every response is labelled, and whose marked responses break."""

    async def asgi_app(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if scope["type"] == "http":
            send = mark_responses(send)
        await super().asgi_app(scope, receive, send)


def _model_list(wire: Wire, provider: str) -> dict[str, Any]:
    if wire is ANTHROPIC:
        data = [
            {
                "type": "model",
                "id": m,
                "display_name": f"{m} (simulated)",
                "created_at": "2025-01-01T00:00:00Z",
            }
            for m in SIMULATED_MODELS
        ]
        return {
            "data": data,
            "has_more": False,
            "first_id": data[0]["id"],
            "last_id": data[-1]["id"],
        }
    if wire is GOOGLE:
        methods = ["generateContent", "streamGenerateContent"]
        models = [
            {
                "name": f"models/{m}",
                "displayName": f"{m} (simulated)",
                "supportedGenerationMethods": methods,
            }
            for m in SIMULATED_MODELS
        ]
        return {"models": models}
    listing: list[dict[str, Any]] = [
        {"id": m, "object": "model", "created": 0, "owned_by": f"simulated {provider}"}
        for m in SIMULATED_MODELS
    ]
    return {"object": "list", "data": listing}


def _about() -> dict[str, Any]:
    return {
        "simulator": "bitrouter provider simulator: simulated upstream APIs, not real models",
        "routes": {
            "openai": "POST /p/{provider}/v1/chat/completions, GET /p/{provider}/v1/models",
            "anthropic": "POST /p/{provider}/v1/messages",
            "google": "POST /p/{provider}/v1beta/models/{model}:generateContent "
            "and :streamGenerateContent?alt=sse",
            "control": "POST /_sim/faults, GET /_sim/stats, POST /_sim/reset",
        },
        "faults": list(FAULT_KINDS),
        "controls": list(Control.model_fields),
    }


def create_simulator_app(config: SimulatorConfig) -> QuartTrio:
    """A fresh simulator app (its own fault queue and counters) behaving as ``config`` says."""
    app = _SimulatorQuart(__name__)
    # Slow simulated streams must not be cut by Quart's own response deadline.
    app.config["RESPONSE_TIMEOUT"] = None
    state = SimulatorState()

    async def call(wire: Wire, provider: str, route: str, **extra: Any) -> Response:
        return await handle_call(
            wire, request, provider=provider, route=route, config=config, state=state, **extra
        )

    @app.post("/v1/chat/completions", defaults={"provider": DEFAULT_PROVIDER})
    @app.post("/p/<provider>/v1/chat/completions")
    async def chat_completions(provider: str) -> Response:
        return await call(OPENAI, provider, "chat_completions")

    @app.post("/v1/messages", defaults={"provider": DEFAULT_PROVIDER})
    @app.post("/p/<provider>/v1/messages")
    async def messages(provider: str) -> Response:
        return await call(ANTHROPIC, provider, "messages")

    @app.post("/v1beta/models/<action>", defaults={"provider": DEFAULT_PROVIDER})
    @app.post("/p/<provider>/v1beta/models/<action>")
    async def generate_content(provider: str, action: str) -> Response:
        model, _, verb = action.rpartition(":")
        if verb not in _GEMINI_ACTIONS or not model:
            return error_response(GOOGLE, 404, f"unknown Gemini method {action!r}")
        streaming = _GEMINI_ACTIONS[verb]
        if streaming and request.args.get("alt") != "sse":
            state.count_request(provider, verb)
            return error_response(GOOGLE, 400, "the simulator streams Gemini only with ?alt=sse")
        return await call(GOOGLE, provider, verb, path_model=model, stream=streaming)

    @app.get("/v1/models", defaults={"provider": DEFAULT_PROVIDER, "beta": False})
    @app.get("/p/<provider>/v1/models", defaults={"beta": False})
    @app.get("/v1beta/models", defaults={"provider": DEFAULT_PROVIDER, "beta": True})
    @app.get("/p/<provider>/v1beta/models", defaults={"beta": True})
    async def models(provider: str, beta: bool) -> Response:
        wire = GOOGLE if beta else ANTHROPIC if request.headers.get("anthropic-version") else OPENAI
        state.count_request(provider, "models")
        if not credential(wire.family, request):
            return error_response(wire, 401, "no API key (the simulator accepts any key)")
        return json_response(_model_list(wire, provider))

    @app.post("/_sim/faults")
    async def queue_fault() -> Response:
        try:
            order = FaultOrder.model_validate(orjson.loads(await request.get_data()))
        except orjson.JSONDecodeError:
            return json_response({"error": {"message": "the body is not valid JSON"}}, 400)
        except ValidationError as exc:
            return json_response({"error": {"message": ask_error(exc).message}}, 400)
        state.queue_fault(order)
        return json_response({"queued": order.model_dump()})

    @app.get("/_sim/stats")
    async def stats() -> Response:
        return json_response(state.snapshot())

    @app.post("/_sim/reset")
    async def reset() -> Response:
        state.reset()
        return json_response({"reset": True})

    @app.get("/")
    async def about() -> Response:
        return json_response(_about())

    @app.errorhandler(HTTPException)
    async def http_error(exc: HTTPException) -> Response:
        message = f"{exc.name}: {request.method} {request.path} is not a simulated route"
        return json_response({"error": {"message": message}}, exc.code or 500)

    return app
