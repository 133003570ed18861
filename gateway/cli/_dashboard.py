"""``bitrouter dashboard``: the terminal dashboard of a running gateway."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gateway.cli._common import gateway_url
from gateway.cli._common import settings as load_home_settings
from gateway.errors import KeystoreError
from gateway.identity import Keystore, mint_token

__all__ = ["open_dashboard", "register"]

_TOKEN_SECONDS = 3600


def _token_source(home: Path) -> str | None:
    try:
        return mint_token(Keystore(home), scope="api", ttl_seconds=_TOKEN_SECONDS)
    except KeystoreError:
        return None  # the dashboard then says that the home has no master key


def open_dashboard(home: Path, url: str, interval: float = 3.0) -> None:
    """Show the dashboard of the gateway at ``url`` with tokens of ``home``'s master key."""
    from gateway.dashboard import GatewayReader, run_dashboard

    run_dashboard(GatewayReader(url, lambda: _token_source(home)), interval)


def dashboard(
    url: Annotated[
        str | None,
        typer.Option(help="The gateway's URL (default: $BITROUTER_URL, else the config's)."),
    ] = None,
    interval: Annotated[
        float, typer.Option(min=1.0, max=3600.0, help="Seconds between refreshes.")
    ] = 3.0,
) -> None:
    """Open the terminal dashboard: status, balance, agents, spend by model, usage, transactions."""
    current = load_home_settings()
    open_dashboard(current.home, gateway_url(url, current), interval)


def register(app: typer.Typer) -> None:
    """Add ``dashboard`` to the command line."""
    app.command(name="dashboard")(dashboard)
