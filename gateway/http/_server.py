"""Serving the app with hypercorn's trio worker: one process, or several sharing a socket."""

from __future__ import annotations

import logging
import signal
import socket
import sys

import trio
from hypercorn.config import Config
from hypercorn.trio import serve as hypercorn_serve

from gateway.http._app import create_app
from gateway.settings import Settings

__all__ = ["hypercorn_config", "serve", "serve_workers"]


def hypercorn_config(host: str, port: int) -> Config:
    """Hypercorn settings of the gateway (its own access log replaces hypercorn's)."""
    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.keep_alive_timeout = 75
    config.graceful_timeout = 5
    config.backlog = 1024
    config.worker_class = "trio"
    return config


async def _until_signal() -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            return


async def serve(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    handle_signals: bool = True,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until SIGINT/SIGTERM (or cancellation); reports the bound URLs via task_status.

    The socket is bound before the app starts, so that with ``port=0`` the runtime already knows
    the real port (hosted ACP agents are told where this gateway is).
    """
    host = host or settings.server.host
    listener = socket.create_server(
        (host, settings.server.port if port is None else port),
        backlog=1024,
        family=socket.AF_INET6 if ":" in host else socket.AF_INET,
    )
    bound = listener.getsockname()[1]
    server = settings.server.model_copy(update={"host": host, "port": bound})
    settings = settings.model_copy(update={"server": server})
    config = hypercorn_config(host, bound)
    config.bind = [f"fd://{listener.detach()}"]  # hypercorn owns (and closes) it from here
    app = create_app(settings)
    trigger = _until_signal if handle_signals else trio.sleep_forever
    await hypercorn_serve(app, config, shutdown_trigger=trigger, task_status=task_status)


def serve_workers(host: str, port: int, workers: int) -> int:
    """Several worker processes sharing one socket (each builds the app from the home settings)."""
    from hypercorn.run import run

    config = hypercorn_config(host, port)
    config.workers = workers
    config.application_path = "gateway.http._entry:app"
    sys.stdout.flush()
    return run(config)
