"""``bitrouter acp prompt``: one turn with a hosted agent, streamed to the terminal.

The agent's text goes to stdout as it comes; tool calls and the stop reason go to stderr.
Tool calls need permission: ``--yes`` allows them, a terminal asks, anything else refuses.
Ctrl-C cancels the turn (a second one gives up).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Any

import httpx
import trio

from gateway.cli._acp_remote import JsonObject, RemoteAcp
from gateway.errors import GatewayError

__all__ = ["run_prompt"]

_CLIENT = {"name": "bitrouter-cli", "version": "0.1.0"}
_NOT_OFFERED = {"code": -32601, "message": "this client offers no files or terminals"}

Ask = Callable[[str], bool]


class _Turn:
    def __init__(self, remote: RemoteAcp, ask: Ask | None) -> None:
        self.remote = remote
        self.ask = ask
        self.inbox_send, self.inbox = trio.open_memory_channel[JsonObject | str](1000)
        self.titles: dict[str, str] = {}
        self.session_id: str | None = None

    async def pump(self) -> None:
        try:
            await self.remote.stream(self.inbox_send.send)
            await self.inbox_send.send("the gateway closed the connection")
        except GatewayError as exc:
            await self.inbox_send.send(exc.message)

    async def call(self, request_id: int, method: str, params: JsonObject) -> Any:
        message = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        await self.remote.post(message)
        async for item in self.inbox:
            if isinstance(item, str):
                raise GatewayError(item)
            if item.get("id") == request_id and "method" not in item:
                if "error" in item:
                    raise GatewayError(str(item["error"].get("message", "the agent failed")))
                return item.get("result")
            await self.handle(item)
        raise GatewayError("the connection ended")

    async def handle(self, message: JsonObject) -> None:
        method, params = message.get("method"), message.get("params") or {}
        if method == "session/update":
            self.show(params.get("update") or {})
        elif method == "session/request_permission":
            answer = await self.permission(params)
            await self.remote.post({"jsonrpc": "2.0", "id": message["id"], "result": answer})
        elif "id" in message and method is not None:
            reply = {"jsonrpc": "2.0", "id": message["id"], "error": _NOT_OFFERED}
            await self.remote.post(reply)

    def show(self, update: JsonObject) -> None:
        kind = update.get("sessionUpdate")
        if kind == "agent_message_chunk":
            content = update.get("content") or {}
            if content.get("type") == "text":
                sys.stdout.write(content.get("text", ""))
                sys.stdout.flush()
        elif kind == "tool_call":
            self.titles[update.get("toolCallId", "")] = update.get("title", "tool")
            sys.stderr.write(f"\n[tool] {update.get('title', 'tool')}\n")
        elif kind == "tool_call_update" and update.get("status") in ("completed", "failed"):
            title = self.titles.get(update.get("toolCallId", ""), "tool")
            sys.stderr.write(f"[tool] {title}: {update['status']}\n")

    async def permission(self, params: JsonObject) -> JsonObject:
        options = params.get("options") or []
        title = (params.get("toolCall") or {}).get("title", "a tool")
        allowed = False
        if self.ask is not None:
            allowed = await trio.to_thread.run_sync(self.ask, f"Allow {title}?")
        else:
            sys.stderr.write(f"[tool] {title}: refused (pass --yes to allow tool calls)\n")
        wanted = ("allow_once", "allow_always") if allowed else ("reject_once", "reject_always")
        for option in options:
            if option.get("kind") in wanted:
                return {"outcome": {"outcome": "selected", "optionId": option["optionId"]}}
        return {"outcome": {"outcome": "cancelled"}}

    async def cancel_on_interrupt(self, done: trio.CancelScope) -> None:
        with trio.open_signal_receiver(signal.SIGINT) as signals:
            async for _ in signals:
                if self.session_id is None or self.remote.connection_id is None:
                    break
                sys.stderr.write("\n[cancelling the turn; Ctrl-C again to quit]\n")
                note = {"sessionId": self.session_id}
                try:
                    await self.remote.post(
                        {"jsonrpc": "2.0", "method": "session/cancel", "params": note}
                    )
                except GatewayError:
                    break
                async for _ in signals:
                    break
                break
        done.cancel()


async def run_prompt(url: str, token: str | None, text: str, ask: Ask | None) -> JsonObject:
    """Run one turn with the agent at ``url``; the ``session/prompt`` result.

    Raises:
        GatewayError: the gateway or the agent failed (one line).
    """
    async with httpx.AsyncClient(timeout=httpx.Timeout(120.0), trust_env=False) as http:
        remote = RemoteAcp(http, url, token)
        failure: GatewayError | None = None
        result: Any = None
        try:
            params = {"protocolVersion": 1, "clientCapabilities": {}, "clientInfo": _CLIENT}
            init = await remote.initialize(
                {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params}
            )
            if "error" in init:
                raise GatewayError(str(init["error"].get("message")))
            turn = _Turn(remote, ask)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(turn.pump)
                nursery.start_soon(turn.cancel_on_interrupt, nursery.cancel_scope)
                try:
                    new = await turn.call(1, "session/new", {"cwd": os.getcwd(), "mcpServers": []})
                    turn.session_id = new["sessionId"]
                    prompt = [{"type": "text", "text": text}]
                    result = await turn.call(
                        2, "session/prompt", {"sessionId": turn.session_id, "prompt": prompt}
                    )
                except GatewayError as exc:
                    failure = exc
                nursery.cancel_scope.cancel()
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(5):
                await remote.close()
    if failure is not None:
        raise failure
    if result is None:
        raise GatewayError("interrupted")
    assert isinstance(result, dict)
    return result
