"""A client of ACP's HTTP transport written from the spec: httpx POSTs and one GET stream of
server-sent events (the connection's), nothing from the gateway's own code."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import orjson
import trio

Message = dict[str, Any]
OnRequest = Callable[[Message], Awaitable[Any]]


class RawAcp:
    """One connection; messages from the gateway collect in :attr:`seen`."""

    def __init__(self, http: httpx.AsyncClient, url: str, token: str | None) -> None:
        self.http = http
        self.url = url
        self.token = token
        self.connection_id: str | None = None
        self.seen: list[Message] = []
        self._send, self._inbox = trio.open_memory_channel[Message](1000)
        self.stream_ended = trio.Event()

    def headers(self, session_id: str | None = None) -> dict[str, str]:
        """Authorization and the ids."""
        headers = {"authorization": f"Bearer {self.token}"} if self.token else {}
        if self.connection_id:
            headers["acp-connection-id"] = self.connection_id
        if session_id:
            headers["acp-session-id"] = session_id
        return headers

    async def initialize(self, **params: Any) -> httpx.Response:
        """POST initialize; keeps the connection id."""
        body = {"protocolVersion": 1, "clientCapabilities": {"fs": {"readTextFile": True}}}
        message = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": body | params}
        response = await self.http.post(self.url, json=message, headers=self.headers())
        self.connection_id = response.headers.get("acp-connection-id")
        return response

    async def post(self, message: Message, session_id: str | None = None) -> httpx.Response:
        """POST one message."""
        return await self.http.post(self.url, json=message, headers=self.headers(session_id))

    async def listen(
        self,
        *,
        session_id: str | None = None,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Read the connection's stream (or a session's) until it ends (run it in a nursery)."""
        headers = {**self.headers(session_id), "accept": "text/event-stream"}
        try:
            async with self.http.stream("GET", self.url, headers=headers) as response:
                assert response.status_code == 200, response.status_code
                assert response.headers["content-type"].startswith("text/event-stream")
                task_status.started()
                data: list[str] = []
                async for line in response.aiter_lines():
                    if line.startswith("data:"):
                        data.append(line[5:].strip())
                    elif line == "" and data:
                        message = orjson.loads("".join(data))
                        data = []
                        self.seen.append(message)
                        await self._send.send(message)
        finally:
            self.stream_ended.set()

    async def call(
        self,
        request_id: int,
        method: str,
        params: Message,
        *,
        on_request: OnRequest | None = None,
        session_id: str | None = None,
    ) -> Message:
        """Send a request and read the stream until its response (answering the agent's
        requests with ``on_request``); the response message."""
        message = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        posted = await self.post(message, session_id)
        assert posted.status_code == 202, posted.text
        return await self.until_response(request_id, on_request)

    async def until_response(self, request_id: int, on_request: OnRequest | None = None) -> Message:
        """Read messages until the response to ``request_id``."""
        async for message in self._inbox:
            if message.get("id") == request_id and "method" not in message:
                return message
            if "method" in message and "id" in message and on_request is not None:
                result = await on_request(message)
                answer = {"jsonrpc": "2.0", "id": message["id"], "result": result}
                posted = await self.post(answer)
                assert posted.status_code == 202
        raise AssertionError("the stream ended")

    async def next_update(self) -> Message:
        """The next message on the stream."""
        return await self._inbox.receive()


def chunks(messages: list[Message]) -> list[str]:
    """The texts of the agent_message_chunk updates, in order."""
    texts = []
    for message in messages:
        update = (message.get("params") or {}).get("update") or {}
        if (
            message.get("method") == "session/update"
            and update.get("sessionUpdate") == "agent_message_chunk"
        ):
            texts.append(update["content"]["text"])
    return texts


def updates(messages: list[Message], kind: str) -> list[Message]:
    """The session/update payloads of one kind."""
    return [
        m["params"]["update"]
        for m in messages
        if m.get("method") == "session/update" and m["params"]["update"]["sessionUpdate"] == kind
    ]


def allow(option: str = "allow_once") -> OnRequest:
    """An ``on_request`` that picks the permission option of ``option`` kind."""

    async def answer(message: Message) -> Any:
        assert message["method"] == "session/request_permission"
        chosen = next(o for o in message["params"]["options"] if o["kind"] == option)
        return {"outcome": {"outcome": "selected", "optionId": chosen["optionId"]}}

    return answer
