"""``bitrouter keygen``: mint a self-signed token and save it as ``tokens/NAME.jwt``."""

from __future__ import annotations

import re
import sys
import time
from datetime import UTC, datetime
from typing import Annotated, Literal

import typer
from pydantic import ValidationError

from gateway.cli._common import print_json
from gateway.errors import BadRequest
from gateway.identity import (
    BudgetRange,
    DurationRange,
    Keystore,
    RoundsRange,
    TokenCodec,
    TokenFiles,
    issue_claims,
)
from gateway.settings import resolve_home

__all__ = ["parse_budget_range", "parse_expiry", "register"]

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile("([0-9]{1,12})([smhd])")
_UNIX = re.compile("[0-9]{1,18}")
_RANGE = re.compile("(rounds|duration):([0-9]{1,18})")
_FLAG_FOR_CLAIM = {"models": "--models", "tools": "--tools", "agent": "--agent"}


def parse_expiry(text: str, *, now: int, scope: str) -> int | None:
    """``--exp``: ``30d``/``12h``/``15m``/``3600s``, a unix time, or ``never`` (not for admin).

    Raises:
        BadRequest: anything else, a time in the past, or ``never`` for an admin token.
    """
    if text == "never":
        if scope == "admin":
            raise BadRequest("--exp never is refused for admin tokens", param="exp")
        return None
    if duration := _DURATION.fullmatch(text):
        amount = int(duration.group(1))
        if amount == 0:
            raise BadRequest("--exp must be a positive duration", param="exp")
        return now + amount * _UNIT_SECONDS[duration.group(2)]
    if _UNIX.fullmatch(text):
        if int(text) <= now:
            raise BadRequest(f"--exp {text} is a unix time in the past", param="exp")
        return int(text)
    raise BadRequest(
        "--exp must be like 30d, 12h, 15m or 3600s, a unix time, or 'never'", param="exp"
    )


def parse_budget_range(text: str) -> BudgetRange:
    """``--budget-range``: ``rounds:N`` or ``duration:SECONDS`` (N, SECONDS ≥ 1).

    Raises:
        BadRequest: any other shape.
    """
    match = _RANGE.fullmatch(text)
    if match is None or int(match.group(2)) == 0:
        raise BadRequest(
            "--budget-range must be rounds:N or duration:SECONDS (a positive integer)",
            param="budget_range",
        )
    if match.group(1) == "rounds":
        return RoundsRange(type="rounds", count=int(match.group(2)))
    return DurationRange(type="duration", seconds=int(match.group(2)))


def _globs(text: str | None, flag: str) -> list[str] | None:
    if text is None:
        return None
    patterns = [p.strip() for p in text.split(",") if p.strip()]
    if not patterns:
        raise BadRequest(f"{flag} needs at least one pattern")
    return patterns


def _when(exp: int | None) -> str:
    if exp is None:
        return "never"
    return datetime.fromtimestamp(exp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def keygen(
    exp: Annotated[
        str, typer.Option(help="Lifetime: 30d, 12h, 15m, 3600s, a unix time, or never.")
    ] = "30d",
    scope: Annotated[str, typer.Option(help="api (model, tool, agent calls) or admin.")] = "api",
    name: Annotated[str, typer.Option(help="Save as tokens/NAME.jwt.")] = "default",
    models: Annotated[
        str | None, typer.Option(help="Allowed model globs, comma-separated (openai/*,…).")
    ] = None,
    tools: Annotated[
        str | None, typer.Option(help="Allowed MCP tool globs, comma-separated.")
    ] = None,
    budget: Annotated[
        int | None, typer.Option(min=0, help="Budget in µUSD (1000000 = 1 USD).")
    ] = None,
    budget_scope: Annotated[
        str | None, typer.Option("--budget-scope", help="session or account.")
    ] = None,
    budget_range: Annotated[
        str | None, typer.Option("--budget-range", help="rounds:N or duration:SECONDS.")
    ] = None,
    chain: Annotated[
        str,
        typer.Option(help="Sign as the solana (Ed25519) or evm key (tempo: the evm key)."),
    ] = "solana",
    agent: Annotated[
        str | None, typer.Option(help="Sign with this agent's key instead of the master key.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a saved token of that name.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Print a self-signed token and save it under --name."""
    if scope not in ("api", "admin"):
        raise BadRequest("--scope must be 'api' or 'admin'", param="scope")
    if chain not in ("solana", "evm", "tempo"):
        raise BadRequest("--chain must be 'solana', 'evm' or 'tempo'", param="chain")
    if budget_scope not in (None, "session", "account"):
        raise BadRequest("--budget-scope must be 'session' or 'account'", param="budget_scope")
    if budget is None and (budget_scope or budget_range):
        raise BadRequest("--budget-scope and --budget-range need --budget")
    if scope == "admin" and agent:
        raise BadRequest("admin tokens are signed by the master key; drop --agent")
    now = int(time.time())
    expires = parse_expiry(exp, now=now, scope=scope)
    range_ = parse_budget_range(budget_range) if budget_range else None
    home = resolve_home()
    files = TokenFiles(home)
    files.path(name)  # a bad name fails before any key is read
    keystore = Keystore(home)
    key = keystore.agent(agent) if agent else keystore.master()
    family: Literal["solana", "evm"] = "solana" if chain == "solana" else "evm"
    session: Literal["session", "account"] | None = (
        "session" if budget_scope == "session" else "account" if budget_scope else None
    )
    try:
        claims = issue_claims(
            key,
            family,
            scope="admin" if scope == "admin" else "api",
            iat=now,
            exp=expires,
            models=_globs(models, "--models"),
            tools=_globs(tools, "--tools"),
            budget=budget,
            budget_scope=session,
            budget_range=range_,
            agent=agent,
            owner=keystore.master() if agent and keystore.has_master() else None,
        )
    except ValidationError as exc:
        where = str(exc.errors()[0]["loc"][0]) if exc.errors()[0]["loc"] else "token"
        flag = _FLAG_FOR_CLAIM.get(where, f"--{where}")
        raise BadRequest(f"{flag}: {exc.errors()[0]['msg'].lower()}") from None
    token = TokenCodec().sign(claims, key)
    path = files.save(name, token, force=force)
    if as_json:
        # keygen's output is the new token; it is shown here as it is on the plain output.
        print_json(
            {
                "name": name,
                "path": str(path),
                "token": token,
                "claims": claims.model_dump(mode="json", exclude_none=True),
            }
        )
        return
    typer.echo(token)
    sys.stderr.write(
        f"✓ Saved as {path} (scope {scope}, expires {_when(expires)}, issuer {claims.iss})\n"
    )


def register(app: typer.Typer) -> None:
    """Add ``keygen`` to the command line."""
    app.command(name="keygen")(keygen)
