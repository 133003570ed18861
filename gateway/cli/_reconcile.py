"""``bitrouter ledger reconcile``: on-chain settlement payments against the ledger's books."""

from __future__ import annotations

from typing import Annotated

import trio
import typer

from gateway.cli._common import fail, print_json, settings
from gateway.errors import GatewayError
from gateway.identity import Keystore
from gateway.ledger import format_usd, open_ledger
from gateway.onchain import ReconcileReport, open_onchain
from gateway.settings import Settings

__all__ = ["reconcile"]


async def _reconcile(current: Settings) -> ReconcileReport:
    # Read-only on the ledger: no recovery of expired reservations (a running gateway does it).
    async with (
        open_ledger(current.database_url, limits=current.limits, recover=False) as ledger,
        open_onchain(current, ledger, Keystore(current.home)) as onchain,
    ):
        return await onchain.reconcile()


def _print(report: ReconcileReport) -> None:
    verdict = "on-chain = ledger" if report.ok else f"{len(report.differences)} differences"
    typer.echo(
        f"reconcile: {verdict}; paid on-chain {format_usd(report.onchain_paid)}, settled in the "
        f"ledger {format_usd(report.ledger_settled)}, unpaid {format_usd(report.unpaid)}"
    )
    for item in report.authorities:
        name = item.label or item.agent
        typer.echo(
            f"  {name} ({item.chain}): on-chain {format_usd(item.onchain_paid)}, "
            f"settled {format_usd(item.ledger_settled)}, unpaid {format_usd(item.unpaid)}"
        )
    for line in report.differences:
        typer.echo(f"difference: {line}")


def reconcile(
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Compare the payments settled on-chain with the ledger; report every difference."""
    try:
        report = trio.run(_reconcile, settings())
    except GatewayError as exc:
        fail(exc.message)
    if as_json:
        print_json(report.to_dict())
    else:
        _print(report)
    if not report.ok:
        fail(f"on-chain payments and the ledger differ ({len(report.differences)} differences)")
