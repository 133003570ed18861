"""``bitrouter acp``: the hosted ACP agents of a gateway — list them, prompt one, or bridge an
editor to one over stdio."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import trio
import typer

from gateway.cli._acp_prompt import run_prompt
from gateway.cli._acp_proxy import run_proxy
from gateway.cli._acp_remote import acp_url
from gateway.cli._common import fail, gateway_url, print_json
from gateway.cli._remote import cli_token, request_json
from gateway.errors import GatewayError
from gateway.settings import resolve_home

__all__ = ["register"]

Url = Annotated[
    str | None,
    typer.Option(help="Gateway URL (default: $BITROUTER_URL, else the home's listen address)."),
]
Agent = Annotated[str, typer.Argument(help="The agent's name (see `bitrouter acp list`).")]


def _token() -> str | None:
    # tokens/default.jwt, else a short-lived token minted from the home's master key.
    return cli_token(resolve_home())


def _usd(micro: Any) -> str:
    return f"${int(micro) / 1_000_000:.6f}".rstrip("0").rstrip(".") if micro else "free"


def list_agents(url: Url = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the gateway's hosted agents with their prices and capabilities."""
    base = gateway_url(url)
    try:
        data = request_json("GET", f"{base}/v1/agents", token=_token()).get("data") or []
    except GatewayError as exc:
        fail(exc.message)
    if as_json:
        print_json(data)
        return
    if not data:
        print("This gateway hosts no ACP agents.")
        return
    for agent in data:
        info = agent.get("agent_info") or {}
        name = info.get("title") or info.get("name") or ""
        price = _usd(agent.get("price_per_turn_micro_usd"))
        sessions = f"{agent.get('active_sessions', 0)}/{agent.get('max_sessions', '?')} sessions"
        line = f"{agent['id']:<20} {price + ' a turn':<18} {sessions:<14} {agent.get('status', '')}"
        print(line + (f"  {name}" if name else ""))
        if agent.get("description"):
            print(f"{'':<20} {agent['description']}")


def prompt(
    agent: Agent,
    text: Annotated[str, typer.Argument(help="What to ask the agent.")],
    url: Url = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Allow every tool call.")] = False,
) -> None:
    """Run one turn with a hosted agent, streaming its answer to the terminal."""
    endpoint = acp_url(gateway_url(url), agent)
    ask = None
    if yes:
        ask = _always
    elif sys.stdin.isatty():
        ask = _confirm
    try:
        result = trio.run(run_prompt, endpoint, _token(), text, ask)
    except GatewayError as exc:
        fail(exc.message)
    stop = result.get("stopReason")
    sys.stdout.write("\n")
    if stop == "end_turn":
        return
    refusal = (result.get("_meta") or {}).get("bitrouter/refusal")
    if stop == "cancelled":
        fail("the turn was cancelled", code=130)
    fail(f"the turn ended: {stop}" + (f" ({refusal})" if refusal else ""))


def proxy(agent: Agent, url: Url = None) -> None:
    """Speak ACP on stdin/stdout for a hosted agent (for editors that launch agents as
    commands, e.g. Zed)."""
    endpoint = acp_url(gateway_url(url), agent)
    stdin = trio.lowlevel.FdStream(os.dup(sys.stdin.fileno()))
    stdout = trio.lowlevel.FdStream(os.dup(sys.stdout.fileno()))
    try:
        lost = trio.run(run_proxy, endpoint, _token(), stdin, stdout)
    except GatewayError as exc:
        fail(exc.message)
    if lost is not None:
        fail(lost)


def _always(question: str) -> bool:
    return True


def _confirm(question: str) -> bool:
    return typer.confirm(question, default=False, err=True)


def register(app: typer.Typer) -> None:
    """Add the ``acp`` command group."""
    group = typer.Typer(
        name="acp",
        help="Hosted ACP agents: list them, prompt one, or bridge an editor to one.",
        no_args_is_help=True,
    )
    group.command("list")(list_agents)
    group.command("prompt")(prompt)
    group.command("proxy")(proxy)
    app.add_typer(group, name="acp")
