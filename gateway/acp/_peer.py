"""One side of a JSON-RPC conversation: requests sent, answers matched to them by id.

The gateway is a peer twice over: it calls the agent subprocess (``initialize``,
``session/new``, relayed client requests) and it calls the remote client (relayed agent
requests such as ``session/request_permission``). Ids are minted per peer, so requests of
several agent processes never collide on one client connection.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from gateway.acp._jsonrpc import JsonObject, RpcError, notification, request

__all__ = ["Peer", "PeerGone", "Pending"]

Send = Callable[[JsonObject], Awaitable[None]]


class PeerGone(Exception):
    """The peer went away (exited, was stopped, disconnected) before it answered."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Pending:
    """A request sent and not yet answered."""

    def __init__(self, key: str) -> None:
        self.key = key
        self._done = trio.Event()
        self._result: Any = None
        self._error: Exception | None = None

    def succeed(self, result: Any) -> None:
        """Answer it with ``result``."""
        if not self._done.is_set():
            self._result = result
            self._done.set()

    def fail(self, error: Exception) -> None:
        """Answer it with ``error`` (an RpcError or PeerGone)."""
        if not self._done.is_set():
            self._error = error
            self._done.set()

    async def wait(self) -> Any:
        """The result.

        Raises:
            RpcError: the peer answered with an error.
            PeerGone: the peer went away first.
        """
        await self._done.wait()
        if self._error is not None:
            raise self._error
        return self._result


class Peer:
    """Requests to one peer over ``send``; feed its responses to :meth:`resolve`."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._ids = itertools.count(1)
        self._pending: dict[str, Pending] = {}
        self._gone: str | None = None

    @property
    def gone(self) -> str | None:
        """Why the peer went away, or None while it is there."""
        return self._gone

    async def send_request(self, method: str, params: Any) -> Pending:
        """Send a request now; await its answer later with ``Pending.wait`` (then
        :meth:`forget` it if the wait is abandoned)."""
        if self._gone is not None:
            raise PeerGone(self._gone)
        request_id = next(self._ids)
        pending = Pending(str(request_id))
        self._pending[pending.key] = pending
        try:
            await self._send(request(request_id, method, params))
        except BaseException:
            self._pending.pop(pending.key, None)
            raise
        return pending

    async def request(self, method: str, params: Any) -> Any:
        """Send a request and wait for its result (see :meth:`Pending.wait`)."""
        pending = await self.send_request(method, params)
        try:
            return await pending.wait()
        finally:
            self.forget(pending)

    async def notify(self, method: str, params: Any) -> None:
        """Send a notification."""
        if self._gone is not None:
            raise PeerGone(self._gone)
        await self._send(notification(method, params))

    def forget(self, pending: Pending) -> None:
        """Stop tracking a request whose answer is no longer awaited."""
        self._pending.pop(pending.key, None)

    def resolve(self, message: JsonObject) -> bool:
        """Match a response to its request; False if no request of ours has its id."""
        pending = self._pending.pop(str(message.get("id")), None)
        if pending is None:
            return False
        if "error" in message:
            pending.fail(RpcError.from_wire(message["error"]))
        else:
            pending.succeed(message.get("result"))
        return True

    def close(self, reason: str) -> None:
        """The peer is gone: every open request fails with :class:`PeerGone`."""
        if self._gone is None:
            self._gone = reason
        pending, self._pending = list(self._pending.values()), {}
        for item in pending:
            item.fail(PeerGone(self._gone))
