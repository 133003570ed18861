"""``bitrouter route MODEL``: which provider a model goes to, and why."""

from __future__ import annotations

from typing import Annotated, Any

import trio
import typer

from gateway.catalog import load_catalog
from gateway.chat import build_router
from gateway.cli._common import gateway_url, print_json
from gateway.cli._common import settings as home_settings
from gateway.cli._remote import cli_token, request_json
from gateway.settings import Settings

__all__ = ["explain_offline", "register", "render_decision"]

# Offline there is no simulator running; this stands in for its URL so routability is shown
# as a gateway started with these settings would see it.
_OFFLINE_SIMULATOR = "http://simulator.offline"


def explain_offline(settings: Settings, model: str) -> dict[str, Any]:
    """The decision for ``model`` from the local catalog and settings (no health observed)."""
    simulator = None if settings.simulator.mode == "off" else _OFFLINE_SIMULATOR
    router = build_router(settings, load_catalog(), simulator)

    async def decide() -> dict[str, Any]:
        return router.decide(model).to_dict()

    decision: dict[str, Any] = trio.run(decide)
    decision["offline"] = True
    return decision


def _usd(micro_per_mtok: int | None) -> str:
    return "-" if micro_per_mtok is None else f"{micro_per_mtok / 1_000_000:g}"


def render_decision(decision: dict[str, Any]) -> str:
    """The decision as a few lines of text."""
    chosen = decision.get("chosen") or "no provider"
    lines = [f"{decision['model']} → {chosen}"]
    if decision.get("candidates"):
        lines.append(
            f"  {'#':>2}  {'provider':<28} {'in $/M':>8} {'out $/M':>8} {'expected µUSD':>14}"
            f"  {'breaker':<9} ttft"
        )
    for c in decision.get("candidates", []):
        prices = c["prices_micro_usd_per_mtok"]
        health = c["health"]
        ttft = "-" if health["ttft_ms"] is None else f"{health['ttft_ms']:g} ms"
        lines.append(
            f"  {c['rank']:>2}  {c['provider']:<28} {_usd(prices.get('input')):>8} "
            f"{_usd(prices.get('output')):>8} {c['expected_cost_micro_usd']:>14,}  "
            f"{health['breaker']:<9} {ttft}"
        )
    excluded = decision.get("excluded", [])
    if excluded:
        lines.append(f"  excluded ({len(excluded)}):")
        lines.extend(f"    {e['provider']}: {e['reason']}" for e in excluded)
    return "\n".join(lines)


def route(
    model: Annotated[str, typer.Argument(help="Model id, e.g. moonshotai:kimi-k2.5.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    url: Annotated[
        str | None, typer.Option(help="Gateway URL (default $BITROUTER_URL, else the config).")
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Explain from the local catalog and settings.")
    ] = False,
) -> None:
    """Explain the routing decision for MODEL: ranked providers, prices, health, exclusions."""
    settings = home_settings()
    if offline:
        decision = explain_offline(settings, model)
    else:
        base = gateway_url(url, settings)
        decision = request_json(
            "GET", f"{base}/v1/route", token=cli_token(settings.home), params={"model": model}
        )
    if as_json:
        print_json(decision)
    else:
        typer.echo(render_decision(decision))


def register(app: typer.Typer) -> None:
    """Add ``route`` to the command line."""
    app.command(name="route")(route)
