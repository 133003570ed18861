"""``bitrouter account``: the master key's addresses, and creating it."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gateway.cli._common import print_json
from gateway.errors import BadRequest
from gateway.identity import Keystore, WalletKey
from gateway.settings import resolve_home

__all__ = ["register"]


def _describe(key: WalletKey) -> dict[str, dict[str, str]]:
    return {
        family: {"address": key.address(family), "caip10": key.caip10(family)}
        for family in ("solana", "evm")
    }


def _print_key(title: str, key: WalletKey) -> None:
    typer.echo(title)
    typer.echo(f"  Solana  {key.solana_address}   {key.caip10('solana')}")
    typer.echo(f"  EVM     {key.evm_address}   {key.caip10('evm')}")


def account(
    generate_key: Annotated[
        bool, typer.Option("--generate-key", help="Create the master keypair (32-byte seed).")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="With --generate-key: replace an existing key (kept as a backup)."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show the master key's Solana and EVM addresses (and agents'); --generate-key creates it."""
    if force and not generate_key:
        raise BadRequest("--force only goes with --generate-key")
    keystore = Keystore(resolve_home())
    backup = None
    if generate_key:
        master, backup = keystore.generate_master(force=force)
    else:
        master = keystore.master()
    agents = [(label, keystore.agent(label)) for label in keystore.agents()]
    if as_json:
        result: dict[str, Any] = {
            "keys_dir": str(keystore.folder),
            "master": _describe(master),
            "agents": [{"label": label, **_describe(key)} for label, key in agents],
        }
        if generate_key:
            result["created"] = True
            result["backup"] = str(backup) if backup else None
        print_json(result)
        return
    if generate_key:
        typer.echo(f"✓ Master key created in {keystore.folder}")
        if backup:
            typer.echo(f"  (the previous key is kept as {backup})")
    _print_key("Master key", master)
    for label, key in agents:
        _print_key(f"Agent {label}", key)


def register(app: typer.Typer) -> None:
    """Add ``account`` to the command line."""
    app.command(name="account")(account)
