"""``bitrouter serve --workers N``: worker processes sharing one listening socket.

The parent binds the socket and starts N spawned processes; each loads the home's settings and
serves with the same server as a single process (the front, then hypercorn). SIGINT or SIGTERM
to the parent stops them all gracefully; if a worker dies, the others are stopped too and the
exit status is the dead worker's (a supervisor restarts the whole server).
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
from collections.abc import Callable
from multiprocessing.connection import wait
from multiprocessing.synchronize import Event
from types import FrameType

import trio

__all__ = ["serve_workers"]

_STOP_SECONDS = 15.0  # graceful stop, then SIGTERM, then SIGKILL


async def _until(event: Event) -> None:
    while not event.is_set():
        await trio.sleep(0.1)


def _worker(listener: socket.socket, stop: Event) -> None:
    from gateway.http._app import create_app
    from gateway.http._server import hypercorn_config, serve_app
    from gateway.settings import load_settings

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    settings = load_settings()
    host, port = listener.getsockname()[:2]
    server = settings.server.model_copy(update={"host": host, "port": port})
    settings = settings.model_copy(update={"server": server})
    config = hypercorn_config(host, port)
    config.bind = [f"fd://{listener.detach()}"]
    app = create_app(settings)
    trio.run(lambda: serve_app(app, config, shutdown_trigger=lambda: _until(stop)))


def serve_workers(
    host: str, port: int, workers: int, *, listening: Callable[[str], None] = print
) -> int:
    """Serve with ``workers`` processes until SIGINT/SIGTERM; the exit status.

    ``listening`` is told the URL once the socket is bound (the real port when ``port`` is 0).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.create_server((host, port), backlog=1024, family=family)
    bound = listener.getsockname()[1]
    context = multiprocessing.get_context("spawn")
    stop = context.Event()

    def stop_all(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, stop_all) for s in (signal.SIGINT, signal.SIGTERM)}
    processes = [
        context.Process(target=_worker, args=(listener, stop), name=f"bitrouter-worker-{n}")
        for n in range(workers)
    ]
    try:
        for process in processes:
            process.start()
        listening(f"http://[{host}]:{bound}" if ":" in host else f"http://{host}:{bound}")
        while not stop.is_set():
            if wait([p.sentinel for p in processes], timeout=0.2):
                break  # a worker ended: stop the rest
        stop.set()
        for process in processes:
            process.join(_STOP_SECONDS)
            if process.is_alive():
                process.terminate()
                process.join(5)
            if process.is_alive():
                process.kill()
                process.join()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        listener.close()
    code = next((p.exitcode for p in processes if p.exitcode), 0) or 0
    return 128 - code if code < 0 else code  # killed by a signal: 128 + its number
