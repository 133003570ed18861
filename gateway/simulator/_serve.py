"""Serving the simulator with hypercorn's trio worker, inside the caller's nursery."""

from __future__ import annotations

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from gateway.simulator._app import create_simulator_app
from gateway.simulator._config import SimulatorConfig
from gateway.tokenizer import count_text_tokens

__all__ = ["serve_simulator"]


async def _check_free(host: str, port: int) -> None:
    """Raise ``OSError`` if ``host:port`` cannot be bound.

    hypercorn leaks its socket when a bind fails; probing first (with the same SO_REUSEADDR)
    turns a busy port into a plain error and leaves nothing open.
    """
    family = trio.socket.AF_INET6 if ":" in host else trio.socket.AF_INET
    with trio.socket.socket(family, trio.socket.SOCK_STREAM) as probe:
        probe.setsockopt(trio.socket.SOL_SOCKET, trio.socket.SO_REUSEADDR, 1)
        await probe.bind((host, port))


async def serve_simulator(
    config: SimulatorConfig,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve a simulator on ``host:port`` (0: any free port) until cancelled.

    Started with ``await nursery.start(serve_simulator, config)``, it reports its base URL
    (``http://127.0.0.1:PORT``) once it is listening.
    """
    if port:
        await _check_free(host, port)
    server = Config()
    server.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    server.accesslog = None
    server.errorlog = None
    app = create_simulator_app(config)
    # Load the vocabulary (~0.4 s, once per process) off the event loop, not in the first call.
    await trio.to_thread.run_sync(count_text_tokens, "warm up", "openai")
    async with trio.open_nursery() as nursery:
        binds: list[str] = await nursery.start(serve, app, server)
        task_status.started(binds[0])
