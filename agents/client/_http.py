"""What the sync and async clients share about HTTP: auth, errors, request bodies, SSE lines."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import AsyncGenerator, Generator, Mapping, Sequence
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

import anyio.to_thread
import httpx

from agents.client._errors import BitRouterError
from agents.client._tokens import TokenSource

__all__ = [
    "DONE",
    "BearerAuth",
    "Messages",
    "chat_body",
    "decode",
    "error_of",
    "is_loopback",
    "query",
    "sse_data",
    "unreachable",
]

Messages = str | Sequence[Mapping[str, Any]]
DONE: Final = object()


class BearerAuth(httpx.Auth):
    """``Authorization: Bearer <token>`` from a :class:`TokenSource`, renewed when stale."""

    def __init__(self, source: TokenSource) -> None:
        self.source = source

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        """Sign the request (the sync client)."""
        request.headers["authorization"] = f"Bearer {self.source.get()}"
        yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """Sign the request; a new token is signed in a worker thread (it reads a key file)."""
        if self.source.stale():
            token = await anyio.to_thread.run_sync(self.source.get)
        else:
            token = self.source.get()
        request.headers["authorization"] = f"Bearer {token}"
        yield request


def is_loopback(url: str) -> bool:
    """Whether ``url`` points at this machine (no proxy from the environment applies then)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def unreachable(base_url: str, exc: httpx.TransportError) -> BitRouterError:
    """The error for a gateway that could not be reached (or broke the connection)."""
    return BitRouterError(f"cannot reach the gateway at {base_url} ({type(exc).__name__})")


def error_of(response: httpx.Response) -> BitRouterError:
    """The error a failed response reports (its body must have been read)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    return BitRouterError.from_response(response.status_code, body)


def decode(response: httpx.Response) -> Any:
    """The JSON body of a successful response.

    Raises:
        BitRouterError: the response is an error, or its body is not JSON.
    """
    if response.status_code >= 400:
        raise error_of(response)
    try:
        return response.json()
    except ValueError:
        raise BitRouterError(
            f"the gateway answered {response.request.url.path} with a body that is not JSON",
            status=response.status_code,
        ) from None


def chat_body(
    model: str,
    messages: Messages,
    *,
    max_tokens: int | None = None,
    stream: bool = False,
    provider: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An OpenAI chat request (a string is one user message)."""
    if isinstance(messages, str):
        listed: list[Any] = [{"role": "user", "content": messages}]
    else:
        listed = [dict(m) for m in messages]
    body: dict[str, Any] = {"model": model, "messages": listed}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    if provider is not None:
        body["provider"] = dict(provider)
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    body.update(params or {})
    return body


def query(**values: str | int | datetime | None) -> dict[str, str]:
    """Query parameters, leaving out the ones not given (times as unix seconds)."""
    out: dict[str, str] = {}
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, datetime):
            value = int(value.timestamp())
        out[key] = str(value)
    return out


def sse_data(line: str) -> Any:
    """The JSON of one ``data:`` line of a stream, :data:`DONE` at its end, else None."""
    if not line.startswith("data:"):
        return None
    data = line[5:].strip()
    if data == "[DONE]":
        return DONE
    try:
        return json.loads(data)
    except ValueError:
        raise BitRouterError("the gateway sent a stream event that is not JSON") from None
