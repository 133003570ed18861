"""One prompt turn: model, tools (each asked for permission first), model again, until the
model answers without a tool call.

Everything the user should see is streamed as ``session/update``s: the model's text as
``agent_message_chunk``s, each tool call as a ``tool_call`` and its ``tool_call_update``s. A
spending refusal by the gateway (HTTP 402, or the MCP error of the same code) ends the turn with
stop reason ``max_tokens`` (the caller's budget is the limit that was reached) after a last
message chunk that quotes the gateway.
"""

from __future__ import annotations

import json
from typing import Any

from acp import (
    Client,
    start_tool_call,
    text_block,
    tool_content,
    update_agent_message_text,
    update_tool_call,
)
from acp.exceptions import RequestError
from acp.schema import (
    AllowedOutcome,
    PermissionOption,
    PromptResponse,
    StopReason,
    ToolCallUpdate,
)
from openai import APIStatusError, AsyncOpenAI

from agents.assistant._config import AssistantConfig
from agents.assistant._conversation import Conversation
from agents.assistant._model import OnText, ToolCall, stream_reply
from agents.assistant._toolbox import Toolbox, ToolRefused

__all__ = ["REFUSAL_META", "run_turn"]

REFUSAL_META = "bitrouter/refusal"
_OPTIONS = [
    PermissionOption(option_id="allow", name="Allow", kind="allow_once"),
    PermissionOption(option_id="reject", name="Reject", kind="reject_once"),
]


class _TurnOver(Exception):
    def __init__(self, stop: StopReason, refusal: str | None = None) -> None:
        super().__init__(stop)
        self.stop = stop
        self.refusal = refusal


def _gateway_message(exc: APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return exc.message


async def run_turn(
    conn: Client,
    session_id: str,
    conversation: Conversation,
    config: AssistantConfig,
    model: AsyncOpenAI,
    text: str,
) -> PromptResponse:
    """Answer ``text`` in ``conversation``; the turn's stop reason."""

    async def say(chunk: str) -> None:
        await conn.session_update(session_id=session_id, update=update_agent_message_text(chunk))

    conversation.messages.append({"role": "user", "content": text})
    # Nothing may be raised through the MCP clients' task groups (they would wrap it in an
    # exception group): the turn's ending is carried out of them as a value.
    ending: _TurnOver | RequestError
    async with Toolbox.open(conversation.servers) as tools:
        try:
            return await _steps(conn, session_id, conversation, config, model, tools, say)
        except (_TurnOver, RequestError) as exc:
            ending = exc
    if isinstance(ending, RequestError):
        raise ending
    if ending.refusal is None:
        return PromptResponse(stop_reason=ending.stop)
    await say(f"\n\n[bitrouter] {ending.refusal}")
    return PromptResponse(stop_reason=ending.stop, field_meta={REFUSAL_META: ending.refusal})


async def _steps(
    conn: Client,
    session_id: str,
    conversation: Conversation,
    config: AssistantConfig,
    model: AsyncOpenAI,
    tools: Toolbox,
    say: OnText,
) -> PromptResponse:
    for _ in range(config.max_steps):
        try:
            reply = await stream_reply(
                model,
                model=config.model,
                messages=conversation.messages,
                tools=tools.specs(),
                max_tokens=config.max_tokens,
                on_text=say,
            )
        except APIStatusError as exc:
            if exc.status_code == 402:
                raise _TurnOver("max_tokens", _gateway_message(exc)) from None
            raise RequestError.internal_error(
                {"message": f"the model call failed: {_gateway_message(exc)}"}
            ) from None
        conversation.messages.append(reply.message())
        if not reply.tool_calls:
            stop: StopReason = "max_tokens" if reply.finish_reason == "length" else "end_turn"
            return PromptResponse(stop_reason=stop)
        for call in reply.tool_calls:
            answer = await _use_tool(conn, session_id, tools, call)
            conversation.messages.append(
                {"role": "tool", "tool_call_id": call.id, "content": answer}
            )
    return PromptResponse(stop_reason="max_turn_requests")


async def _use_tool(conn: Client, session_id: str, tools: Toolbox, call: ToolCall) -> str:
    try:
        arguments = json.loads(call.arguments or "{}")
    except json.JSONDecodeError:
        arguments = {}
    if not isinstance(arguments, dict):
        arguments = {}
    start = start_tool_call(call.id, call.name, kind="other", status="pending", raw_input=arguments)
    await conn.session_update(session_id=session_id, update=start)
    asked = ToolCallUpdate(tool_call_id=call.id, title=call.name, kind="other", raw_input=arguments)
    permission = await conn.request_permission(
        session_id=session_id, tool_call=asked, options=_OPTIONS
    )
    outcome = permission.outcome
    if not isinstance(outcome, AllowedOutcome):
        raise _TurnOver("cancelled")
    if outcome.option_id != "allow":
        await _report(conn, session_id, call.id, "failed", "declined by the user")
        return "The user declined this tool call."
    await conn.session_update(
        session_id=session_id, update=update_tool_call(call.id, status="in_progress")
    )
    try:
        answer = await tools.call(call.name, arguments)
    except ToolRefused as refused:
        await _report(conn, session_id, call.id, "failed", refused.message)
        if refused.spending:
            raise _TurnOver("max_tokens", refused.message) from None
        return f"error: {refused.message}"
    await _report(conn, session_id, call.id, "completed", answer)
    return answer


async def _report(conn: Client, session_id: str, call_id: str, status: Any, text: str) -> None:
    update = update_tool_call(
        call_id, status=status, content=[tool_content(text_block(text))], raw_output=text
    )
    await conn.session_update(session_id=session_id, update=update)
