"""``bitrouter`` with no command: the setup wizard on first launch, else the server (started in
the background if it is not running) and the dashboard."""

from __future__ import annotations

import sys

import typer

from gateway.cli._common import settings as load_home_settings
from gateway.cli._dashboard import open_dashboard
from gateway.cli._init import InitFlags, connect_url, run_init
from gateway.settings import resolve_home
from gateway.setup import CONFIG_FILE, ServerProcess

__all__ = ["first_launch", "register"]


def first_launch(ctx: typer.Context) -> None:
    """First launch: the setup wizard. Then: start the server if needed and open the dashboard."""
    if ctx.invoked_subcommand is not None:
        return
    if not (resolve_home() / CONFIG_FILE).exists():
        run_init(InitFlags())
        return
    current = load_home_settings()
    server = ServerProcess(current.home, connect_url(current.server.host, current.server.port))
    status = server.status()
    if not status.healthy:
        status = server.start()
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        # No terminal for the dashboard (a script, a pipe): say where the server is and stop.
        typer.echo(f"✓ API server listening on {status.url.removeprefix('http://')}")
        return
    open_dashboard(current.home, status.url)


def register(app: typer.Typer) -> None:
    """Make ``bitrouter`` without a command run :func:`first_launch`."""
    app.callback(invoke_without_command=True)(first_launch)
