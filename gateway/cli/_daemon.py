"""``bitrouter start | stop | status``: the home's server in the background.

The server runs as ``python -m gateway.cli serve`` with its pid in ``bitrouter.pid`` and its
output in ``logs/gateway.log`` (both in the home). ``stop`` also stops the home's embedded chain
nodes (started by the server or by ``swig``), which would otherwise linger until idle.
``status`` exits 0 when the server answers its health check and 3 when it does not (as service
managers do), with ``--json`` either way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gateway.chains._daemon import running_node, stop_node
from gateway.cli._common import fail, print_json
from gateway.cli._common import settings as load_home_settings
from gateway.cli._init import connect_url
from gateway.settings import resolve_home
from gateway.setup import CONFIG_FILE, ServerProcess, ServerStatus

__all__ = ["home_server", "register"]

_NOT_RUNNING = 3

UrlOption = Annotated[
    str | None,
    typer.Option(help="Where the server answers (default: the config's listen address)."),
]


def home_server(url: str | None = None) -> ServerProcess:
    """The background server of the home, checked at ``url`` (else its configured address)."""
    current = load_home_settings()
    return ServerProcess(current.home, url or connect_url(current.server.host, current.server.port))


def _describe(status: ServerStatus) -> str:
    health = status.health or {}
    about = f"bitrouter {health.get('version', '?')}, mode {health.get('mode', '?')}"
    if status.running:
        state = "● running" if status.healthy else "● running, not answering its health check"
        return f"{state} (pid {status.pid}) at {status.url}: {about if status.healthy else ''}"
    if status.healthy:
        return f"● a server not started by bitrouter answers at {status.url}: {about}"
    return f"○ stopped ({status.url})"


def start(
    url: UrlOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Start the server in the background (if it is not running) and wait for its health check."""
    if not (resolve_home() / CONFIG_FILE).exists():
        fail("no configuration in this home yet; run `bitrouter init` first")
    status = home_server(url).start()
    if as_json:
        print_json(status.to_json())
        return
    typer.echo(f"✓ API server listening on {status.url.removeprefix('http://')} (pid {status.pid})")
    typer.echo("✓ Health check passed")
    typer.echo(f"  log: {status.log_path}")


def _stop_chain_nodes(home: Path) -> list[str]:
    stopped = []
    for info in sorted(home.glob("chains/*/node.json")):
        name = info.parent.name
        if running_node(home, name) is not None and stop_node(home, name):
            stopped.append(name)
    return stopped


def stop(
    url: UrlOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Stop the background server of this home and its embedded chain nodes."""
    server = home_server(url)
    pid = server.stop()
    chains = _stop_chain_nodes(server.home)
    if as_json:
        print_json({"stopped": pid is not None, "pid": pid, "chains": chains})
        return
    if pid is None:
        typer.echo("No background server is running for this home.")
    else:
        typer.echo(f"✓ Server stopped (pid {pid})")
    for name in chains:
        typer.echo(f"✓ Embedded {name} chain stopped")


def status(
    url: UrlOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Whether the server runs and answers its health check (exit 3 when it does not)."""
    current = home_server(url).status()
    if as_json:
        print_json(current.to_json())
    else:
        typer.echo(_describe(current).rstrip(": "))
        typer.echo(f"  log: {current.log_path}")
    if not current.healthy:
        raise typer.Exit(_NOT_RUNNING)


def register(app: typer.Typer) -> None:
    """Add ``start``, ``stop`` and ``status`` to the command line."""
    app.command(name="start")(start)
    app.command(name="stop")(stop)
    app.command(name="status")(status)
