"""The gateway's own tools: ``chat``, ``quote``, ``list_models``, ``balance``.

They carry no tool price: ``chat`` is reserved and charged as a model call by the router, and
the others cost nothing. Every result has the structured value and its JSON as text (the MCP
spec's advice for clients that read only text), except ``chat``, whose text is the reply.
"""

from __future__ import annotations

from typing import Any

import mcp_types as types
import orjson

from gateway.errors import BadRequest
from gateway.identity import Principal
from gateway.mcp._ports import GatewayTools

__all__ = ["OWN_TOOLS", "call_own_tool"]

_CHAT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "model": {"type": "string", "description": "Model id, e.g. 'anthropic:claude-sonnet-4'"},
        "messages": {
            "type": "array",
            "items": {"type": "object"},
            "description": "OpenAI chat messages: [{'role': 'user', 'content': '…'}, …]",
        },
        "max_tokens": {"type": "integer", "minimum": 1},
        "temperature": {"type": "number"},
    },
    "required": ["model", "messages"],
    "additionalProperties": True,
}
_NO_ARGUMENTS: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}

OWN_TOOLS: tuple[types.Tool, ...] = (
    types.Tool(
        name="chat",
        description="One chat completion through the gateway's router (OpenAI request fields); "
        "charged as a model call.",
        input_schema=_CHAT_SCHEMA,
    ),
    types.Tool(
        name="quote",
        description="The binding price of a chat request before making it: provider, unit "
        "prices, max_cost_micro_usd, id and expiry.",
        input_schema=_CHAT_SCHEMA,
    ),
    types.Tool(
        name="list_models",
        description="The models this gateway routes, with providers and prices.",
        input_schema=_NO_ARGUMENTS,
    ),
    types.Tool(
        name="balance",
        description="Your balance, caps, spent and remaining (µUSD).",
        input_schema=_NO_ARGUMENTS,
    ),
)


def _structured(value: dict[str, Any], text: str | None = None) -> types.CallToolResult:
    shown = text if text is not None else orjson.dumps(value).decode()
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=shown)], structured_content=value
    )


def _chat_request(arguments: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(arguments.get("model"), str) or not isinstance(
        arguments.get("messages"), list
    ):
        raise BadRequest(
            "'model' (a string) and 'messages' (a list) are required", param="messages"
        )
    # A tool result is one value: the reply is never streamed.
    return {k: v for k, v in arguments.items() if k not in ("stream", "stream_options")}


def _reply_text(response: dict[str, Any]) -> str:
    choices = response.get("choices") or [{}]
    content = (choices[0].get("message") or {}).get("content")
    return content if isinstance(content, str) else ""


async def call_own_tool(
    tools: GatewayTools, principal: Principal, name: str, arguments: dict[str, Any]
) -> types.CallToolResult:
    """Run one of :data:`OWN_TOOLS` for ``principal``."""
    if name == "chat":
        response = await tools.chat(principal, _chat_request(arguments))
        return _structured(response, _reply_text(response))
    if name == "quote":
        return _structured(await tools.quote(principal, _chat_request(arguments)))
    if name == "list_models":
        return _structured({"models": await tools.list_models()})
    if name == "balance":
        return _structured(await tools.balance(principal))
    raise AssertionError(f"not a gateway tool: {name}")
