"""Messages on their way to a remote client, kept until a stream takes them.

One outbox per stream scope: the connection's, and each session's (the remote transport's
session-scoped GET). A message stays in its outbox until a reader has written it, so nothing is
lost between a POST and the client's GET, and a reader that reconnects takes over where the
last one stopped. A full outbox makes its writer wait: a client that stops reading slows its
own agent down, not the gateway.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import trio

from gateway.acp._jsonrpc import JsonObject

__all__ = ["Outbox", "OutboxClosed"]


class OutboxClosed(Exception):
    """The outbox is closed and has nothing left to read."""


class Outbox:
    """A bounded queue with at most one reader at a time."""

    def __init__(self, on_change: Callable[[], None], capacity: int = 1024) -> None:
        self._items: deque[JsonObject] = deque()
        self._capacity = capacity
        self._lot = trio.lowlevel.ParkingLot()
        self._closed = False
        self._reader: trio.CancelScope | None = None
        self._on_change = on_change

    @property
    def attached(self) -> bool:
        """Whether a reader is attached now."""
        return self._reader is not None

    @property
    def closed(self) -> bool:
        """Whether the outbox was closed."""
        return self._closed

    async def put(self, message: JsonObject) -> None:
        """Queue ``message`` (waiting while the outbox is full); dropped once closed."""
        while len(self._items) >= self._capacity and not self._closed:
            await self._lot.park()
        if self._closed:
            return
        self._items.append(message)
        self._lot.unpark_all()

    def attach(self) -> trio.CancelScope:
        """Become the reader; read inside the returned scope, which is cancelled when another
        reader attaches. Call :meth:`detach` with it when done."""
        if self._reader is not None:
            self._reader.cancel()
        self._reader = trio.CancelScope()
        self._on_change()
        return self._reader

    def detach(self, reader: trio.CancelScope) -> None:
        """Stop being the reader (no-op if another reader took over)."""
        if self._reader is reader:
            self._reader = None
            self._on_change()

    async def peek(self) -> JsonObject:
        """The oldest message, once there is one; :meth:`pop` it after it was written.

        Raises:
            OutboxClosed: closed and empty.
        """
        while not self._items:
            if self._closed:
                raise OutboxClosed
            await self._lot.park()
        return self._items[0]

    def pop(self) -> None:
        """Drop the oldest message (it was written)."""
        if self._items:
            self._items.popleft()
            self._lot.unpark_all()

    def close(self) -> None:
        """Accept no more messages; readers finish what is queued, then stop."""
        self._closed = True
        self._lot.unpark_all()
