"""``bitrouter models``: the catalog with providers, prices and whether each is routable here."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gateway.catalog import load_catalog
from gateway.cli._common import print_json
from gateway.cli._common import settings as home_settings
from gateway.providers import resolve_endpoints

__all__ = ["register"]

# No simulator runs for this command; a placeholder URL shows routability as a gateway started
# with these settings would see it.
_OFFLINE_SIMULATOR = "http://simulator.offline"


def _usd(micro_per_mtok: int) -> str:
    return f"{micro_per_mtok / 1_000_000:g}"


def models(
    provider: Annotated[
        str | None, typer.Option(help="Only models this provider serves (e.g. moonshot).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the catalog's models with their providers and prices (USD per 1M tokens)."""
    settings = home_settings()
    catalog = load_catalog()
    simulator = None if settings.simulator.mode == "off" else _OFFLINE_SIMULATOR
    endpoints = resolve_endpoints(catalog, settings, simulator)
    if provider is not None and provider not in catalog.providers:
        raise typer.BadParameter(f"unknown provider {provider!r}", param_hint="--provider")
    rows: list[dict[str, Any]] = []
    for model in catalog:
        for offer in model.offers:
            if provider is not None and offer.provider != provider:
                continue
            status = endpoints.status(offer.provider)
            rows.append(
                {
                    "model": model.id,
                    "provider": offer.provider,
                    "routable": status.routable,
                    "simulated": status.simulated,
                    "status": status.note,
                    "prices_micro_usd_per_mtok": offer.prices.to_dict(),
                }
            )
    if as_json:
        print_json(rows)
        return
    typer.echo(f"{'model':<44} {'provider':<16} {'in $/M':>8} {'out $/M':>8}  status")
    for r in rows:
        prices = r["prices_micro_usd_per_mtok"]
        note = "simulator" if r["simulated"] else r["status"]
        typer.echo(
            f"{r['model'][:44]:<44} {r['provider'][:16]:<16} "
            f"{_usd(prices['input']):>8} {_usd(prices['output']):>8}  {note}"
        )
    if any(r["simulated"] for r in rows):
        typer.echo(
            "simulator: no provider key is set; models are answered by the built-in "
            "provider simulator (fake replies, not a real model)."
        )


def register(app: typer.Typer) -> None:
    """Add ``models`` to the command line."""
    app.command(name="models")(models)
