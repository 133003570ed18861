"""A running agent subprocess and the JSON-RPC peer over its stdio."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import trio

from gateway.acp._jsonrpc import JsonObject, is_response
from gateway.acp._peer import Peer
from gateway.acp._process import AgentProcess

__all__ = ["AgentLink", "Incoming"]

_log = logging.getLogger("bitrouter.acp")

Incoming = Callable[[JsonObject], Awaitable[None]]
"""Receives the agent's requests and notifications, in the order it wrote them."""


class AgentLink:
    """Calls to the agent go through :attr:`peer`; its own messages go to ``incoming``."""

    def __init__(self, process: AgentProcess) -> None:
        self.process = process
        self.peer = Peer(process.send)
        self.exited = trio.Event()
        self._scope = trio.CancelScope()
        self._reason: str | None = None

    async def run(
        self, incoming: Incoming, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Run the agent until it exits or :meth:`stop` is called; then every open request to
        it fails with the reason."""

        async def deliver(message: JsonObject) -> None:
            if is_response(message):
                if not self.peer.resolve(message):
                    _log.warning("agent %s answered an unknown request id", self.process.name)
                return
            await incoming(message)

        try:
            with self._scope:
                await self.process.run(deliver, task_status=task_status)
        finally:
            self.peer.close(self._reason or self._exit_reason())
            self.exited.set()

    def stop(self, reason: str) -> None:
        """Stop the agent (and its process group); ``reason`` is what open requests fail with."""
        if self._reason is None:
            self._reason = reason
        self._scope.cancel()

    @property
    def reason(self) -> str | None:
        """Why the agent was stopped, if the gateway stopped it."""
        return self._reason

    def _exit_reason(self) -> str:
        code = self.process.exit_code
        how = f"with code {code}" if code is not None and code >= 0 else "on a signal"
        return f"the agent '{self.process.name}' exited {how}"
