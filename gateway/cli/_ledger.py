"""``bitrouter ledger check``: verify the spending ledger's books and report every breach."""

from __future__ import annotations

from typing import Annotated

import trio
import typer

from gateway.cli._common import fail, print_json, settings
from gateway.cli._reconcile import reconcile
from gateway.ledger import CheckReport, format_usd, open_ledger
from gateway.settings import Settings

__all__ = ["register"]


async def _check(current: Settings) -> CheckReport:
    # Read-only: no recovery of expired reservations (a running gateway does that).
    async with open_ledger(current.database_url, limits=current.limits, recover=False) as ledger:
        return await ledger.check()


def _print(report: CheckReport) -> None:
    verdict = "ok" if report.ok else f"{len(report.breaches)} breaches"
    typer.echo(
        f"ledger {verdict}: {report.identities} identities, {report.authorities} authorities, "
        f"{report.entries} entries ({report.open_reservations} open); "
        f"spent {format_usd(report.spent)}, reserved {format_usd(report.reserved)}"
    )
    for line in report.breaches:
        typer.echo(f"breach: {line}")
    for line in report.warnings:
        typer.echo(f"warning: {line}")


def check(
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Verify the ledger: totals match their entries, no limit was exceeded."""
    report = trio.run(_check, settings())
    if as_json:
        print_json(report.to_dict())
    else:
        _print(report)
    if not report.ok:
        fail(f"the ledger has {len(report.breaches)} breaches")


def register(app: typer.Typer) -> None:
    """Add ``ledger check`` and ``ledger reconcile`` to the command line."""
    group = typer.Typer(help="The spending ledger.", no_args_is_help=True)
    group.command(name="check")(check)
    group.command(name="reconcile")(reconcile)
    app.add_typer(group, name="ledger")
