"""``bitrouter swig``: the master key's on-chain wallet and its agents' spending authorities.

``create-wallet``, ``fund`` (embedded chains), ``derive-agent``, ``list-agents``,
``revoke-agent`` and ``balance``, on Solana or Tempo (``--chain``; default ``chains.default``).
Slow steps (starting an embedded chain, waiting for a confirmation) are announced on stderr;
results go to stdout, as JSON with ``--json``; a failure is one line naming what the chain (or
the input) refused.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, TypeVar

import trio
import typer

from gateway.chains._interface import ChainFamily
from gateway.cli._common import fail, print_json, settings
from gateway.errors import BadRequest, GatewayError
from gateway.identity import Keystore
from gateway.ledger import format_usd
from gateway.onchain import AgentView, Onchain, open_onchain
from gateway.settings import Settings

__all__ = ["parse_chain", "register"]

T = TypeVar("T")

ChainOption = Annotated[
    str | None,
    typer.Option("--chain", help="solana or tempo (evm is accepted for tempo); default: config."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def parse_chain(text: str | None, current: Settings) -> ChainFamily:
    """``--chain``: ``solana``, ``tempo`` (or ``evm``), default the config's ``chains.default``."""
    if text is None:
        return current.chains.default
    if text == "solana":
        return "solana"
    if text in ("tempo", "evm"):
        return "tempo"
    raise BadRequest(f"--chain must be 'solana' or 'tempo', not {text!r}", param="chain")


def _progress(text: str) -> None:
    sys.stderr.write(f"… {text}\n")
    sys.stderr.flush()


def _run(work: Callable[[Onchain, Settings], Awaitable[T]]) -> T:
    """Run ``work`` with the home's on-chain service; any failure is one line and exit 1."""
    try:
        current = settings()

        async def main() -> T:
            keystore = Keystore(current.home)
            async with open_onchain(current, None, keystore, progress=_progress) as onchain:
                return await work(onchain, current)

        return trio.run(main)
    except GatewayError as exc:
        fail(exc.message)


def _when(unix: int) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%d %H:%M UTC")


def create_wallet(chain: ChainOption = None, as_json: JsonOption = False) -> None:
    """Create the master key's USDC wallet on-chain and show how to fund it."""

    async def work(onchain: Onchain, current: Settings) -> None:
        family = parse_chain(chain, current)
        wallet = await onchain.owner.create_wallet(family)
        balance = await (await onchain.chains.get(family)).usdc_balance(wallet.owner)
        if as_json:
            print_json(
                {
                    "chain": wallet.chain,
                    "owner": wallet.owner,
                    "usdc_account": wallet.usdc_account,
                    "usdc_micro_usd": balance,
                    "funding": wallet.funding_hint,
                }
            )
            return
        typer.echo(f"✓ {wallet.chain} wallet ready for {wallet.owner}")
        typer.echo(f"  USDC account  {wallet.usdc_account}")
        typer.echo(f"  balance       {format_usd(balance)}")
        typer.echo(f"  fund it       {wallet.funding_hint}")
        section = current.chains.solana if family == "solana" else current.chains.tempo
        if section.mode == "embedded":
            typer.echo(f"  test USDC     bitrouter swig fund --amount 100000000 --chain {family}")

    _run(work)


def fund(
    amount: Annotated[int, typer.Option("--amount", help="Test USDC to mint, in µUSD.")],
    chain: ChainOption = None,
    as_json: JsonOption = False,
) -> None:
    """Mint test USDC to the master key's wallet (embedded chains only)."""

    async def work(onchain: Onchain, current: Settings) -> None:
        family = parse_chain(chain, current)
        result = await onchain.owner.fund(family, amount)
        (wallet,) = await onchain.owner.balances([family])
        if as_json:
            print_json({"chain": family, "tx_id": result.tx_id, **wallet.to_dict()})
            return
        typer.echo(f"✓ minted {format_usd(amount)} of test USDC on {family}")
        typer.echo(f"  transaction   {result.tx_id}")
        typer.echo(f"  balance       {format_usd(wallet.usdc_micro_usd)} at {wallet.address}")

    _run(work)


def derive_agent(
    label: Annotated[str, typer.Option("--label", help="The agent's name (its key's label).")],
    per_tx_cap: Annotated[
        int, typer.Option("--per-tx-cap", help="Most one payment may move, µUSD.")
    ],
    cumulative_cap: Annotated[
        int, typer.Option("--cumulative-cap", help="Most all payments together move, µUSD.")
    ],
    expires_at: Annotated[
        int, typer.Option("--expires-at", help="Unix time from which nothing may be paid.")
    ],
    chain: ChainOption = None,
    payee: Annotated[
        str | None,
        typer.Option("--payee", help="Who may pull the payments (default: this gateway)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create an agent key and grant it a spending authority on-chain."""

    async def work(onchain: Onchain, current: Settings) -> None:
        family = parse_chain(chain, current)
        grant = await onchain.owner.derive_agent(
            label,
            chain=family,
            per_tx_cap=per_tx_cap,
            cumulative_cap=cumulative_cap,
            expires_at=expires_at,
            payee=payee,
        )
        if as_json:
            print_json(grant.to_dict())
            return
        made = "created and granted" if grant.new_key else "granted"
        typer.echo(f"✓ agent {grant.label} {made} on {grant.chain}")
        typer.echo(f"  agent           {grant.agent}")
        typer.echo(f"  per-tx cap      {format_usd(grant.per_tx_cap)}")
        typer.echo(f"  cumulative cap  {format_usd(grant.cumulative_cap)}")
        typer.echo(f"  expires         {_when(grant.expires_at)}")
        typer.echo(f"  payee           {grant.payee}")
        typer.echo(f"  transaction     {grant.tx_id}")
        flag = "evm" if grant.chain == "tempo" else "solana"
        typer.echo(f"  token           bitrouter keygen --agent {grant.label} --chain {flag}")

    _run(work)


async def _chains(onchain: Onchain, chain: str | None, current: Settings) -> list[ChainFamily]:
    if chain is not None:
        return [parse_chain(chain, current)]
    return await onchain.owner.chains_in_use(current.chains.default)


def _agent_line(view: AgentView) -> str:
    state = view.state
    if state is None:
        return f"{view.label:<20} {view.chain:<7} {view.status}"
    return (
        f"{view.label:<20} {view.chain:<7} {view.status:<8} "
        f"per-tx {format_usd(state.per_tx_cap)}  cap {format_usd(state.cumulative_cap)}  "
        f"paid {format_usd(state.paid)}  remaining {format_usd(state.remaining)}  "
        f"expires {_when(state.expires_at)}"
    )


def list_agents(chain: ChainOption = None, as_json: JsonOption = False) -> None:
    """The home's agents with their on-chain caps, payments, remaining and expiry."""

    async def work(onchain: Onchain, current: Settings) -> None:
        views = await onchain.owner.list_agents(await _chains(onchain, chain, current))
        if as_json:
            print_json([view.to_dict() for view in views])
            return
        if not views:
            typer.echo("no agents; create one with bitrouter swig derive-agent")
        for view in views:
            typer.echo(_agent_line(view))

    _run(work)


def revoke_agent(
    label: Annotated[str, typer.Option("--label", help="The agent to revoke.")],
    chain: ChainOption = None,
    as_json: JsonOption = False,
) -> None:
    """Revoke an agent's spending authority on-chain (no payment under it passes after)."""

    async def work(onchain: Onchain, current: Settings) -> None:
        results = await onchain.owner.revoke_agent(label, await _chains(onchain, chain, current))
        if as_json:
            print_json(
                [
                    {"label": label, "chain": r.chain, "tx_id": r.tx_id, "revoked": True}
                    for r in results
                ]
            )
            return
        for result in results:
            typer.echo(f"✓ agent {label} revoked on {result.chain}")
            typer.echo(f"  transaction   {result.tx_id}")

    _run(work)


def balance(chain: ChainOption = None, as_json: JsonOption = False) -> None:
    """The master key's USDC on-chain, and what its agents may still spend."""

    async def work(onchain: Onchain, current: Settings) -> None:
        chains = await _chains(onchain, chain, current)
        wallets = await onchain.owner.balances(chains)
        views = [v for v in await onchain.owner.list_agents(chains) if v.state is not None]
        if as_json:
            print_json(
                {
                    "wallets": [w.to_dict() for w in wallets],
                    "agents": [v.to_dict() for v in views],
                    "checked_at": int(time.time()),
                }
            )
            return
        for wallet in wallets:
            typer.echo(f"{wallet.chain:<7} {wallet.address}  {format_usd(wallet.usdc_micro_usd)}")
        for view in views:
            typer.echo(f"  {_agent_line(view)}")

    _run(work)


def register(app: typer.Typer) -> None:
    """Add ``swig`` and its commands to the command line."""
    group = typer.Typer(
        help="Your on-chain wallet and your agents' spending authorities.", no_args_is_help=True
    )
    group.command(name="create-wallet")(create_wallet)
    group.command(name="fund")(fund)
    group.command(name="derive-agent")(derive_agent)
    group.command(name="list-agents")(list_agents)
    group.command(name="revoke-agent")(revoke_agent)
    group.command(name="balance")(balance)
    app.add_typer(group, name="swig")
