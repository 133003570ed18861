"""``bitrouter serve``: the server in the foreground."""

from __future__ import annotations

import os
import sys
from functools import partial
from typing import Annotated

import trio
import typer

from gateway.cli._common import settings as load_home_settings
from gateway.cli._common import setup_logging

__all__ = ["register"]


def _banner(urls: list[str]) -> None:
    sys.stderr.write(f"BitRouter gateway listening on {', '.join(urls)} (Ctrl-C stops it)\n")


def serve(
    host: Annotated[
        str | None,
        typer.Option(help="Address to listen on (default from bitrouter.yaml: 127.0.0.1)."),
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to listen on (default from bitrouter.yaml: 8787).")
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Worker processes sharing the port (use a PostgreSQL ledger when > 1).",
        ),
    ] = 1,
) -> None:
    """Run the gateway server in the foreground until Ctrl-C or SIGTERM."""
    from gateway.http import serve as serve_app
    from gateway.http import serve_workers

    current = load_home_settings()
    setup_logging()
    host = host or current.server.host
    port = current.server.port if port is None else port
    if workers > 1:
        os.environ["BITROUTER_HOME"] = str(current.home)

        def listening(url: str) -> None:
            sys.stderr.write(
                f"BitRouter gateway listening on {url} ({workers} worker processes; "
                "Ctrl-C stops them)\n"
            )
            sys.stderr.flush()

        raise SystemExit(serve_workers(host, port, workers, listening=listening))

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            urls = await nursery.start(partial(serve_app, current, host=host, port=port))
            _banner(urls)

    trio.run(main)


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the command line."""
    app.command(name="serve")(serve)
