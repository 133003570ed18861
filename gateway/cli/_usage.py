"""``bitrouter usage``: what the caller spent, call by call or grouped."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer

from gateway.cli._common import gateway_url, print_json
from gateway.cli._common import settings as home_settings
from gateway.cli._remote import cli_token, request_json

__all__ = ["register"]


def _usd(micro: int) -> str:
    return f"${micro / 1_000_000:,.6f}"


def _calls(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'when (UTC)':<19}  {'kind':<5}  {'subject':<34} {'tokens':>8} {'cost':>12}"]
    for r in rows:
        when = dt.datetime.fromtimestamp(r["created_at"], dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        tokens = r["prompt_tokens"] + r["completion_tokens"]
        lines.append(
            f"{when:<19}  {r['kind']:<5}  {r['subject'][:34]:<34} {tokens:>8} "
            f"{_usd(r['cost_micro_usd']):>12}"
        )
    return "\n".join(lines)


def _groups(summary: dict[str, Any]) -> str:
    lines = [f"{summary['group_by']:<36} {'requests':>8} {'tokens':>10} {'cost':>12}"]
    for r in summary["data"]:
        tokens = r["prompt_tokens"] + r["completion_tokens"]
        lines.append(
            f"{r['key'][:36]:<36} {r['requests']:>8} {tokens:>10} {_usd(r['cost_micro_usd']):>12}"
        )
    lines.append(f"{'total':<36} {'':>8} {'':>10} {_usd(summary['total_cost_micro_usd']):>12}")
    return "\n".join(lines)


def usage(
    by: Annotated[
        str | None, typer.Option("--by", help="Group by model, provider, day or kind.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Calls to show.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    url: Annotated[
        str | None, typer.Option(help="Gateway URL (default $BITROUTER_URL, else the config).")
    ] = None,
) -> None:
    """Show your usage on the running gateway: recent calls, or totals grouped with --by."""
    settings = home_settings()
    base, token = gateway_url(url, settings), cli_token(settings.home)
    if by is not None:
        if by not in ("model", "provider", "day", "kind"):
            raise typer.BadParameter("must be model, provider, day or kind", param_hint="--by")
        summary = request_json(
            "GET", f"{base}/v1/usage/summary", token=token, params={"group_by": by}
        )
        print_json(summary) if as_json else typer.echo(_groups(summary))
        return
    page = request_json("GET", f"{base}/v1/usage", token=token, params={"limit": str(limit)})
    print_json(page) if as_json else typer.echo(_calls(page["data"]))


def register(app: typer.Typer) -> None:
    """Add ``usage`` to the command line."""
    app.command(name="usage")(usage)
