"""``bitrouter acp proxy``: a stdio ACP agent that is really a hosted agent on a gateway.

An editor that launches ACP agents as commands (Zed's ``agent_servers``) runs this command; it
reads JSON-RPC lines on stdin, POSTs them to the gateway's ``/acp/AGENT`` and writes every
message of the connection's event stream to stdout. ``initialize`` opens the connection; the
end of stdin closes it (DELETE), which stops the remote agent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import orjson
import trio

from gateway.cli._acp_remote import JsonObject, RemoteAcp
from gateway.errors import GatewayError

__all__ = ["run_proxy"]

_INTERNAL_ERROR = -32603


def _error(request_id: object, message: str) -> JsonObject:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "error": {"code": _INTERNAL_ERROR, "message": message},
    }


async def _messages(stdin: trio.abc.ReceiveStream) -> AsyncIterator[JsonObject]:
    buffer = b""
    async for chunk in stdin:
        *lines, buffer = (buffer + chunk).split(b"\n")
        for line in lines:
            if line.strip():
                value = orjson.loads(line)
                if isinstance(value, dict):
                    yield value


class _Proxy:
    def __init__(self, remote: RemoteAcp, stdout: trio.abc.SendStream) -> None:
        self.remote = remote
        self.stdout = stdout
        self.lock = trio.Lock()
        self.lost: str | None = None

    async def write(self, message: JsonObject) -> None:
        async with self.lock:
            await self.stdout.send_all(orjson.dumps(message) + b"\n")

    async def forward(self, message: JsonObject, nursery: trio.Nursery) -> None:
        request_id, is_request = message.get("id"), "method" in message and "id" in message
        if self.remote.connection_id is None:
            if message.get("method") == "initialize" and is_request:
                try:
                    answer = await self.remote.initialize(message)
                except GatewayError as exc:
                    await self.write(_error(request_id, exc.message))
                    return
                await self.write(answer)
                nursery.start_soon(self.pump, nursery.cancel_scope)
            elif is_request:
                await self.write(_error(request_id, "initialize first"))
            return
        try:
            await self.remote.post(message)
        except GatewayError as exc:
            if is_request:
                await self.write(_error(request_id, exc.message))

    async def pump(self, done: trio.CancelScope) -> None:
        try:
            await self.remote.stream(self.write)
            self.lost = "the gateway closed the ACP connection"
        except GatewayError as exc:
            self.lost = exc.message
        done.cancel()


async def run_proxy(
    url: str, token: str | None, stdin: trio.abc.ReceiveStream, stdout: trio.abc.SendStream
) -> str | None:
    """Bridge stdio to ``url`` until stdin ends (None) or the gateway ends the connection
    (why, one line)."""
    async with httpx.AsyncClient(timeout=httpx.Timeout(120.0), trust_env=False) as http:
        proxy = _Proxy(RemoteAcp(http, url, token), stdout)
        try:
            async with trio.open_nursery() as nursery:
                async for message in _messages(stdin):
                    await proxy.forward(message, nursery)
                nursery.cancel_scope.cancel()
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(5):
                await proxy.remote.close()
    return proxy.lost
