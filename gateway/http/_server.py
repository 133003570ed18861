"""Serving the app: one process (the HTTP/1.1 front, then hypercorn's trio worker for whatever
the front hands over); ``_workers`` runs it in several processes sharing a socket."""

from __future__ import annotations

import logging
import signal
import socket
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, cast

import trio
from hypercorn.config import Config
from hypercorn.trio.lifespan import Lifespan
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import ConnectionState
from hypercorn.utils import ShutdownError, raise_shutdown, repr_socket_addr, wrap_app
from quart_trio import QuartTrio

from gateway.asgi import ASGIApp
from gateway.http._app import create_app
from gateway.http._front import Front
from gateway.settings import Settings

__all__ = ["hypercorn_config", "serve", "serve_app"]


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
    config.include_server_header = False  # the front's responses carry none either
    return config


async def serve_app(
    app: QuartTrio,
    config: Config,
    *,
    shutdown_trigger: Callable[[], Awaitable[Any]],
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` on ``config``'s (plain HTTP) binds: each connection is read by the front,
    which hands what it does not take to hypercorn; a graceful shutdown when the trigger returns.

    The orchestration is hypercorn's own ``worker_serve`` (lifespan, then listeners, then a
    graceful timeout for open requests), with the front as each connection's first reader.
    """
    wrapped = wrap_app(app, config.wsgi_max_body_size, None)
    state: dict[str, Any] = {}
    lifespan = Lifespan(wrapped, config, state)
    context = WorkerContext(None)
    async with trio.open_nursery() as lifespan_nursery:
        await lifespan_nursery.start(lifespan.handle_lifespan)
        await lifespan.wait_for_startup()
        async with trio.open_nursery() as server_nursery:

            async def handoff(stream: trio.abc.HalfCloseableStream) -> None:
                connection = ConnectionState(state.copy())
                await TCPServer(wrapped, config, context, connection, cast(Any, stream)).run()

            front = Front(
                cast(ASGIApp, app), handoff, state=state, keep_alive=config.keep_alive_timeout
            )
            sockets = config.create_sockets()
            listeners = []
            urls = []
            for sock in sockets.insecure_sockets:
                sock.listen(config.backlog)
                listeners.append(trio.SocketListener(trio.socket.from_stdlib_socket(sock)))
                urls.append(f"http://{repr_socket_addr(sock.family, sock.getsockname())}")
            task_status.started(urls)
            try:
                async with trio.open_nursery(strict_exception_groups=True) as nursery:
                    nursery.start_soon(raise_shutdown, shutdown_trigger)
                    nursery.start_soon(raise_shutdown, context.terminate.wait)
                    nursery.start_soon(
                        partial(
                            trio.serve_listeners,
                            front.serve,
                            listeners,
                            handler_nursery=server_nursery,
                        )
                    )
                    await trio.sleep_forever()
            except BaseExceptionGroup as error:
                _, others = error.split((ShutdownError, KeyboardInterrupt))
                if others is not None:
                    raise others from None
            finally:
                front.close_idle()
                await context.terminated.set()
                server_nursery.cancel_scope.deadline = trio.current_time() + config.graceful_timeout
        await lifespan.wait_for_shutdown()


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
    await serve_app(app, config, shutdown_trigger=trigger, task_status=task_status)
