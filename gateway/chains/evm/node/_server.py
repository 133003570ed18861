"""The node's HTTP face: JSON-RPC POSTs on 127.0.0.1, idle exit, clean stop on SIGTERM.

A threaded stdlib server is enough here: clients (the CLI, the gateway) keep connections open,
so each connection gets a thread, and the node's lock serialises every call into py-evm, which
is single-threaded anyway.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType

from gateway.chains._daemon import write_node_file
from gateway.chains.evm.node._node import Node
from gateway.chains.evm.node._rpc import RpcDispatcher

__all__ = ["serve"]

_MAX_BODY = 8 * 1024 * 1024
_POLL_SECONDS = 0.2


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, dispatcher: RpcDispatcher) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.dispatcher = dispatcher
        self.last_request = time.monotonic()
        self.timeout = _POLL_SECONDS


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in two writes; without NODELAY, Nagle plus the client's delayed
        # ACK hold the body back ~40 ms on every keep-alive request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:
        self.server.last_request = time.monotonic()
        length = int(self.headers.get("content-length") or 0)
        if length > _MAX_BODY:
            self._reply(413, b'{"error": "request too large"}')
            return
        try:
            request = json.loads(self.rfile.read(length))
        except ValueError:
            body = {
                "jsonrpc": "2.0",
                "id": None,
                "error": {"code": -32700, "message": "parse error"},
            }
            self._reply(200, json.dumps(body).encode())
            return
        response = self.server.dispatcher.handle(request)
        self.server.last_request = time.monotonic()
        self._reply(200, json.dumps(response).encode())

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        # One line per request would grow node.log without bound; errors still reach stderr.
        return


def serve(node: Node, state_dir: Path, idle_seconds: float) -> None:
    """Serve until SIGTERM/SIGINT or ``idle_seconds`` without a request."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server = _Server(RpcDispatcher(node))
    url = f"http://127.0.0.1:{server.server_address[1]}"
    write_node_file(state_dir, url)
    try:
        while not stop.is_set():
            server.handle_request()
            if time.monotonic() - server.last_request > idle_seconds:
                break
    finally:
        server.server_close()
        # Wait for a call in progress, so that its journal entry is complete before exit.
        with node.lock:
            node.close()
        _forget_node_file(state_dir)


def _forget_node_file(state_dir: Path) -> None:
    info = state_dir / "node.json"
    try:
        if json.loads(info.read_text(encoding="utf-8")).get("pid") == os.getpid():
            info.unlink()
    except (OSError, ValueError):
        return
