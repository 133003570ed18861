"""One prompt turn of a hosted agent over ACP's HTTP transport at ``/acp/{agent}``.

The wire (the gateway's ``/acp``): ``POST`` carries one JSON-RPC message; ``initialize`` is
answered at once with the result and an ``Acp-Connection-Id`` header, every later message is
answered ``202`` and its response arrives on the connection's ``GET`` stream of server-sent
events, together with the agent's ``session/update`` notifications and its requests to the
client (``session/request_permission``), which are answered with another ``POST``. ``DELETE``
closes the connection and stops the agent.

This client offers the agent no file system and no terminal; it answers permission requests
with a policy (by default: allow once).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import anyio
import httpx
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from agents.client._errors import BitRouterError
from agents.client._groups import single_errors
from agents.client._http import decode, error_of, sse_data
from agents.client._parse import mapping, maybe_int, text
from agents.client._tool_results import COST_META, AgentToolCall, AgentTurn

__all__ = ["CONNECTION_HEADER", "PermissionPolicy", "allow_once", "prompt_agent"]

CONNECTION_HEADER = "Acp-Connection-Id"
SESSION_HEADER = "Acp-Session-Id"
PROTOCOL_VERSION = 1
_METHOD_NOT_FOUND = -32601
_INIT = {
    "protocolVersion": PROTOCOL_VERSION,
    "clientCapabilities": {
        "fs": {"readTextFile": False, "writeTextFile": False},
        "terminal": False,
    },
    "clientInfo": {"name": "bitrouter-agents-client", "version": "0.1.0"},
}

PermissionPolicy = Callable[[Mapping[str, Any]], str | None]
"""Given a ``session/request_permission``'s params (``toolCall``, ``options``), the ``optionId``
to answer with, or None to refuse."""

Inbox = MemoryObjectReceiveStream[dict[str, Any]]


def allow_once(request: Mapping[str, Any]) -> str | None:
    """The default policy: the first ``allow_once`` option (else ``allow_always``)."""
    options = [mapping(o) for o in request.get("options") or ()]
    for kind in ("allow_once", "allow_always"):
        for option in options:
            if option.get("kind") == kind:
                return text(option, "optionId")
    return None


def _rpc_error(error: Any) -> BitRouterError:
    error = mapping(error)
    data = mapping(error.get("data"))
    return BitRouterError(
        text(error, "message", "the agent answered with an error"),
        status=maybe_int(data, "status"),
        code=None if data.get("code") is None else str(data["code"]),
        type=None if data.get("type") is None else str(data["type"]),
    )


class _Turn:
    """What the agent's messages said so far."""

    def __init__(self, agent: str, policy: PermissionPolicy) -> None:
        self.agent = agent
        self.policy = policy
        self.parts: list[str] = []
        self.calls: dict[str, AgentToolCall] = {}
        self.permissions: list[str] = []
        self.updates: list[Mapping[str, Any]] = []

    def update(self, params: Mapping[str, Any]) -> None:
        update = mapping(params.get("update"))
        self.updates.append(update)
        kind = update.get("sessionUpdate")
        if kind == "agent_message_chunk":
            content = mapping(update.get("content"))
            if content.get("type") == "text":
                self.parts.append(text(content, "text"))
        elif kind in ("tool_call", "tool_call_update"):
            call_id = text(update, "toolCallId")
            known = self.calls.get(call_id) or AgentToolCall(call_id, "", None, None)
            self.calls[call_id] = AgentToolCall(
                call_id,
                update.get("title") or known.title,
                update.get("kind") or known.kind,
                update.get("status") or known.status,
            )

    def answer(self, request: Mapping[str, Any]) -> dict[str, Any]:
        params = mapping(request.get("params"))
        if request.get("method") != "session/request_permission":
            message = f"{request.get('method')} is not offered by this client"
            return {"code": _METHOD_NOT_FOUND, "message": message}
        chosen = self.policy(params)
        title = text(mapping(params.get("toolCall")), "title", "a tool call")
        if chosen is None:
            self.permissions.append(f"{title}: refused")
            return {"outcome": {"outcome": "cancelled"}}
        self.permissions.append(f"{title}: {chosen}")
        return {"outcome": {"outcome": "selected", "optionId": chosen}}

    def result(self, session_id: str, result: Mapping[str, Any]) -> AgentTurn:
        return AgentTurn(
            agent=self.agent,
            session_id=session_id,
            text="".join(self.parts),
            stop_reason=result.get("stopReason"),
            cost_micro_usd=maybe_int(mapping(result.get("_meta")), COST_META),
            tool_calls=tuple(self.calls.values()),
            permissions=tuple(self.permissions),
            updates=tuple(self.updates),
        )


class _Connection:
    """The client's side of one ACP connection."""

    def __init__(self, http: httpx.AsyncClient, url: str, turn: _Turn) -> None:
        self.http = http
        self.url = url
        self.turn = turn
        self.headers: dict[str, str] = {}
        self.ids = iter(range(1, 1 << 30))

    async def open(self) -> None:
        message = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": _INIT}
        response = await self.http.post(self.url, json=message)
        body = decode(response)
        if "error" in mapping(body):
            raise _rpc_error(body["error"])
        self.headers = {CONNECTION_HEADER: response.headers.get(CONNECTION_HEADER, "")}

    async def read(
        self,
        sink: MemoryObjectSendStream[dict[str, Any]],
        *,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        headers = {**self.headers, "accept": "text/event-stream"}
        timeout = httpx.Timeout(10.0, read=None)
        async with (
            sink,
            self.http.stream("GET", self.url, headers=headers, timeout=timeout) as response,
        ):
            if response.status_code >= 400:
                await response.aread()
                raise error_of(response)
            task_status.started()
            async for line in response.aiter_lines():
                message = sse_data(line)
                if isinstance(message, dict):
                    await sink.send(message)

    async def send(self, message: Mapping[str, Any]) -> None:
        response = await self.http.post(self.url, json=dict(message), headers=self.headers)
        if response.status_code >= 400:
            raise error_of(response)

    async def call(self, inbox: Inbox, method: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """Send a request and handle what comes until its response."""
        request_id = next(self.ids)
        await self.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        async for message in inbox:
            if "method" not in message:
                if message.get("id") != request_id:
                    continue
                if "error" in message:
                    raise _rpc_error(message["error"])
                return dict(mapping(message.get("result")))
            if message.get("method") == "session/update":
                self.turn.update(mapping(message.get("params")))
            elif "id" in message:
                await self._answer(message)
        raise BitRouterError(f"the agent's stream at {self.url} ended before it answered {method}")

    async def _answer(self, request: Mapping[str, Any]) -> None:
        answer = self.turn.answer(request)
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": request["id"]}
        if "code" in answer:
            reply["error"] = answer
        else:
            reply["result"] = answer
        await self.send(reply)

    async def close(self) -> None:
        if not self.headers:
            return
        # A failed DELETE is harmless: the gateway closes a connection whose stream went away.
        with (
            anyio.CancelScope(shield=True),
            anyio.move_on_after(5),
            contextlib.suppress(httpx.TransportError),
        ):
            await self.http.delete(self.url, headers=self.headers)


async def prompt_agent(
    http: httpx.AsyncClient,
    base_url: str,
    agent: str,
    prompt: str | Sequence[Mapping[str, Any]],
    *,
    policy: PermissionPolicy = allow_once,
    cwd: str | None = None,
    timeout: float = 120.0,
) -> AgentTurn:
    """One turn: connect, open a session, prompt, collect the reply, close.

    Raises:
        BitRouterError: the gateway or the agent refused, or the turn took longer than
            ``timeout`` seconds.
    """
    turn = _Turn(agent, policy)
    connection = _Connection(http, f"{base_url}/acp/{agent}", turn)
    blocks = [{"type": "text", "text": prompt}] if isinstance(prompt, str) else list(prompt)
    try:
        with single_errors(), anyio.fail_after(timeout):
            await connection.open()
            send, inbox = anyio.create_memory_object_stream[dict[str, Any]](256)
            async with anyio.create_task_group() as tasks, inbox:
                await tasks.start(connection.read, send)
                opened = await connection.call(
                    inbox, "session/new", {"cwd": cwd or os.getcwd(), "mcpServers": []}
                )
                session_id = text(opened, "sessionId")
                params = {"sessionId": session_id, "prompt": blocks}
                result = await connection.call(inbox, "session/prompt", params)
                tasks.cancel_scope.cancel()
    except TimeoutError:
        raise BitRouterError(
            f"the agent '{agent}' did not finish its turn within {timeout:g} s"
        ) from None
    except httpx.TransportError as exc:
        raise BitRouterError(
            f"cannot reach the gateway at {base_url} ({type(exc).__name__})"
        ) from None
    finally:
        await connection.close()
    return turn.result(session_id, result)
