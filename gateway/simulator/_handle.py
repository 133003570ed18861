"""One simulated provider call: check, parse, decide the reply, apply faults, answer."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
import trio
from quart import Request, Response

from gateway.simulator._anthropic import ANTHROPIC
from gateway.simulator._ask import Ask, AskError
from gateway.simulator._config import SimulatorConfig
from gateway.simulator._control import Control, ControlError, resolve_control
from gateway.simulator._faults import broken_response, error_response, event_stream
from gateway.simulator._reply import Outcome, simulate_reply
from gateway.simulator._state import SimulatorState
from gateway.simulator._wire import Wire

__all__ = ["credential", "handle_call"]

_MISSING_KEY = {
    "openai": "no API key: send 'Authorization: Bearer <key>' (the simulator accepts any key)",
    "anthropic": "no API key: send 'x-api-key: <key>' (the simulator accepts any key)",
    "google": "no API key: send '?key=<key>' or 'x-goog-api-key' (the simulator accepts any key)",
}


def credential(family: str, request: Request) -> str:
    """The caller's key, however its family sends it ("" when there is none)."""
    authorization = request.headers.get("authorization", "")
    bearer = authorization[7:].strip() if authorization.lower().startswith("bearer ") else ""
    if family == "anthropic":
        return request.headers.get("x-api-key", "").strip() or bearer
    if family == "google":
        key = request.args.get("key", "") or request.headers.get("x-goog-api-key", "")
        return key.strip() or bearer
    return bearer


def _summary(ask: Ask, outcome: Outcome, control: Control) -> dict[str, Any]:
    return {
        "provider": ask.provider,
        "family": ask.family,
        "model": ask.model,
        "stream": ask.stream,
        "max_tokens": ask.max_tokens,
        "n": ask.n,
        "tools": [tool.name for tool in ask.tools],
        "prompt_tokens": outcome.usage.prompt,
        "completion_tokens": outcome.usage.completion,
        "fault": control.fault,
    }


async def _parse(wire: Wire, request: Request, provider: str, path_model: str | None) -> Ask:
    if wire is ANTHROPIC and not request.headers.get("anthropic-version"):
        raise AskError("anthropic-version: header is required")
    body = await request.get_data()
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise AskError("the request body is not valid JSON") from None
    return wire.parse(parsed, provider, path_model)


async def _answer(
    wire: Wire, ask: Ask, outcome: Outcome, control: Control, config: SimulatorConfig, rid: str
) -> Response:
    fault = control.fault
    if fault == "timeout":
        await trio.sleep(config.timeout_fault_seconds)
    ttft = control.ttft_ms if control.ttft_ms is not None else config.ttft_ms
    delay = control.chunk_delay_ms if control.chunk_delay_ms is not None else config.chunk_delay_ms
    await trio.sleep(ttft / 1000)
    content_type = "text/event-stream; charset=utf-8" if ask.stream else "application/json"
    if fault == "reset":
        return broken_response([], content_type, 0)
    if not ask.stream:
        if fault == "malformed":
            return Response(
                b'{"id": "' + rid.encode() + b'", "choices": [', 200, content_type=content_type
            )
        body = orjson.dumps(wire.render(ask, outcome, rid))
        if fault == "cut":
            return broken_response([body[: len(body) // 2]], content_type, 0)
        return Response(body, 200, content_type=content_type)
    events = wire.events(ask, outcome, rid)
    if fault == "malformed":
        events = [events[0], wire.malformed_event, *events[1:]]
    if fault == "cut":
        return broken_response(events[: len(events) // 2], content_type, delay / 1000)
    return event_stream(events, delay / 1000)


async def handle_call(
    wire: Wire,
    request: Request,
    *,
    provider: str,
    route: str,
    config: SimulatorConfig,
    state: SimulatorState,
    path_model: str | None = None,
    stream: bool | None = None,
) -> Response:
    """Answer one provider call the way ``wire``'s real API would, faults included."""
    state.count_request(provider, route)
    if not credential(wire.family, request):
        return error_response(wire, 401, _MISSING_KEY[wire.family])
    try:
        ask = await _parse(wire, request, provider, path_model)
        if stream is not None:
            ask = dataclasses.replace(ask, stream=stream)
        queued = state.take_fault(provider, ask.model)
        control = resolve_control(
            queued=queued, headers=dict(request.headers), last_user_text=ask.last_user_text()
        )
        outcome = simulate_reply(ask, control, config)
    except (AskError, ControlError) as exc:
        return error_response(wire, 400, str(exc))
    state.note_request(_summary(ask, outcome, control))
    if control.fault in ("429", "500", "503"):
        status = int(control.fault)
        retry_after = control.retry_after if status == 429 else None
        message = f"simulated {status} from {provider} (a fault asked of the simulator)"
        return error_response(wire, status, message, retry_after=retry_after)
    rid = f"{wire.id_prefix}{state.next_serial():06d}"
    return await _answer(wire, ask, outcome, control, config, rid)
