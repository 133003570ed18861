"""A client of a gateway's ``/acp`` over HTTP, on trio: POST messages, read one GET stream.

The commands use the connection-scoped stream only: the gateway sends a session's messages
there when no session stream is open, so everything arrives on one stream, in order.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import orjson

from gateway.errors import GatewayError

__all__ = ["RemoteAcp", "acp_url", "sse_messages"]

JsonObject = dict[str, Any]
_CONNECTION = "Acp-Connection-Id"


def acp_url(base_url: str, agent: str) -> str:
    """The ACP endpoint of ``agent`` on the gateway at ``base_url``."""
    return f"{base_url.rstrip('/')}/acp/{agent}"


def _failure(response: httpx.Response, what: str) -> GatewayError:
    message = None
    try:
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            message = body["error"].get("message")
    except ValueError:
        pass
    return GatewayError(f"{what}: HTTP {response.status_code}: {message or response.reason_phrase}")


async def sse_messages(lines: AsyncIterator[str]) -> AsyncIterator[JsonObject]:
    """The JSON messages of a server-sent event stream's ``data:`` fields."""
    data: list[str] = []
    async for line in lines:
        if line == "":
            if data:
                value = orjson.loads("\n".join(data))
                data = []
                if isinstance(value, dict):
                    yield value
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))


class RemoteAcp:
    """One connection to ``url`` (an ``/acp/AGENT`` endpoint) with a bearer token."""

    def __init__(self, http: httpx.AsyncClient, url: str, token: str | None) -> None:
        self._http = http
        self._url = url
        self._auth = {"authorization": f"Bearer {token}"} if token else {}
        self.connection_id: str | None = None

    async def initialize(self, message: JsonObject) -> JsonObject:
        """POST ``initialize``; the JSON-RPC response.

        Raises:
            GatewayError: the gateway refused it or cannot be reached.
        """
        response = await self._send("POST", message)
        if response.status_code != 200 or _CONNECTION.lower() not in response.headers:
            raise _failure(response, "initialize failed")
        self.connection_id = response.headers[_CONNECTION]
        answer = response.json()
        if not isinstance(answer, dict):
            raise GatewayError("the gateway answered initialize with something else than JSON-RPC")
        return answer

    async def post(self, message: JsonObject) -> None:
        """POST one message of the connection (its answer comes on the stream).

        Raises:
            GatewayError: the gateway refused it or cannot be reached.
        """
        response = await self._send("POST", message)
        if response.status_code not in (200, 202):
            raise _failure(response, f"POST {message.get('method', 'response')} failed")

    async def stream(self, deliver: Callable[[JsonObject], Awaitable[None]]) -> None:
        """Read the connection's stream, handing each message to ``deliver``, until it ends.

        Raises:
            GatewayError: the stream could not be opened.
        """
        headers = {**self._headers(), "accept": "text/event-stream"}
        # The stream is quiet between turns (keep-alives come every 15 s): no read timeout.
        timeout = httpx.Timeout(30.0, read=None)
        try:
            async with self._http.stream(
                "GET", self._url, headers=headers, timeout=timeout
            ) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise _failure(response, "the event stream could not be opened")
                async for message in sse_messages(response.aiter_lines()):
                    await deliver(message)
        except httpx.TransportError:
            raise GatewayError(f"lost the connection to {self._url}") from None

    async def close(self) -> None:
        """DELETE the connection (its agents are stopped); quiet if it is already gone."""
        if self.connection_id is None:
            return
        with contextlib.suppress(httpx.TransportError):
            await self._http.request("DELETE", self._url, headers=self._headers())
        self.connection_id = None

    def _headers(self) -> dict[str, str]:
        headers = dict(self._auth)
        if self.connection_id is not None:
            headers[_CONNECTION] = self.connection_id
        return headers

    async def _send(self, method: str, message: JsonObject) -> httpx.Response:
        headers = {**self._headers(), "content-type": "application/json"}
        try:
            return await self._http.request(
                method, self._url, content=orjson.dumps(message), headers=headers
            )
        except httpx.TransportError:
            raise GatewayError(
                f"cannot reach the gateway at {self._url} (is `bitrouter serve` running?)"
            ) from None
