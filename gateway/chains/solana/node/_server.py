"""Serving the node: a plain ASGI app on hypercorn's trio worker, bound to loopback.

The node publishes its URL with ``write_node_file`` once it listens, stops on SIGTERM/SIGINT or
after ``idle_seconds`` without a request, and removes its ``node.json`` on the way out.
"""

from __future__ import annotations

import json
import logging
import os
import signal
from functools import partial
from pathlib import Path
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio import serve as hypercorn_serve

from gateway.chains._daemon import write_node_file
from gateway.chains.solana.node._rpc import Node

__all__ = ["run_node"]

logger = logging.getLogger("gateway.chains.solana.node")

MAX_BODY = 1024 * 1024
_INTERNAL_ERROR = b'{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Internal error"}}'


class _Activity:
    def __init__(self) -> None:
        self.last = trio.current_time()

    def touch(self) -> None:
        self.last = trio.current_time()


async def _read_body(receive: Any) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _respond(send: Any, status: int, body: bytes, kind: bytes = b"application/json") -> None:
    headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _App:
    """POST / answers JSON-RPC; GET /health answers ``ok`` (as a validator's RPC does)."""

    def __init__(self, node: Node, activity: _Activity) -> None:
        self._node = node
        self._activity = activity

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        self._activity.touch()
        if scope["method"] == "GET" and scope["path"] == "/health":
            await _respond(send, 200, b"ok", b"text/plain")
            return
        if scope["method"] != "POST":
            await _respond(send, 405, b'{"error":"use POST with a JSON-RPC body"}')
            return
        body = await _read_body(receive)
        if body is None:
            await _respond(send, 413, b'{"error":"request body too large"}')
            return
        try:
            answer = await self._node.handle(body)
        except Exception:  # the face's top-level handler: answer, log, keep serving
            logger.exception("solana node: request failed")
            answer = _INTERNAL_ERROR
        self._activity.touch()
        await _respond(send, 200, answer)


async def _stop_on_signal(stop: trio.Event) -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for _ in signals:
            stop.set()
            return


async def _stop_when_idle(activity: _Activity, idle_seconds: float, stop: trio.Event) -> None:
    while True:
        deadline = activity.last + idle_seconds
        if trio.current_time() >= deadline:
            stop.set()
            return
        await trio.sleep_until(deadline)


async def _stop_on_failure(node: Node, stop: trio.Event) -> None:
    await node.failed.wait()
    stop.set()


def _forget_node_file(state_dir: Path) -> None:
    path = state_dir / "node.json"
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


async def run_node(state_dir: Path, idle_seconds: float) -> bool:
    """Replay the state in ``state_dir`` and serve until stopped or idle; False if the journal
    failed (the node then stops at once)."""
    node = Node(state_dir)
    await node.start()
    stop = trio.Event()
    activity = _Activity()
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.graceful_timeout = 1.0
    config.loglevel = "WARNING"
    try:
        async with trio.open_nursery() as watchers:
            watchers.start_soon(_stop_on_signal, stop)
            watchers.start_soon(_stop_when_idle, activity, idle_seconds, stop)
            watchers.start_soon(_stop_on_failure, node, stop)
            async with trio.open_nursery() as server:
                app = _App(node, activity)
                binds = await server.start(
                    partial(hypercorn_serve, app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]
                )
                write_node_file(state_dir, binds[0])
            watchers.cancel_scope.cancel()
    finally:
        _forget_node_file(state_dir)
        node.close()
    return not node.failed.is_set()
