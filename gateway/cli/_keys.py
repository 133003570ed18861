"""``bitrouter keys``: list, show, remove and revoke the tokens saved by ``keygen``."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from gateway.cli._common import gateway_url, print_json
from gateway.errors import (
    AuthError,
    BadRequest,
    Forbidden,
    GatewayError,
    NotFound,
    UpstreamError,
    UpstreamUnavailable,
)
from gateway.identity import Keystore, TokenCodec, TokenFiles, issue_claims, read_unverified
from gateway.identity import token_hash as hash_of
from gateway.settings import resolve_home

__all__ = ["register"]

ADMIN_TOKEN_SECONDS = 300
_ERROR_FOR_STATUS: dict[int, type[GatewayError]] = {
    400: BadRequest,
    401: AuthError,
    403: Forbidden,
    404: NotFound,
}


def _summary(files: TokenFiles, name: str, now: float) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "path": str(files.path(name))}
    try:
        alg, claims = read_unverified(files.read(name))
    except GatewayError as exc:
        return {**entry, "error": exc.message}
    exp = claims.get("exp")
    entry.update(
        alg=alg,
        issuer=claims.get("iss"),
        scope=claims.get("scope"),
        exp=exp,
        expired=isinstance(exp, int) and not now < exp,
        models=claims.get("models"),
        tools=claims.get("tools"),
        budget=claims.get("budget"),
        budget_scope=claims.get("budget_scope"),
        budget_range=claims.get("budget_range"),
        agent=claims.get("agent"),
        jti=claims.get("jti"),
    )
    return entry


def _when(entry: dict[str, Any]) -> str:
    exp = entry.get("exp")
    if not isinstance(exp, int):
        return "never"
    text = datetime.fromtimestamp(exp, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"{text} (expired)" if entry["expired"] else text


def _budget(entry: dict[str, Any]) -> str:
    if entry.get("budget") is None:
        return "-"
    parts = [str(entry.get("budget_scope") or "")]
    window = entry.get("budget_range")
    if isinstance(window, dict):
        parts.append(f"{window.get('type')}:{window.get('count', window.get('seconds'))}")
    extra = ", ".join(p for p in parts if p)
    return f"{entry['budget']} µUSD" + (f" ({extra})" if extra else "")


def _list(files: TokenFiles, as_json: bool) -> None:
    now = time.time()
    entries = [_summary(files, name, now) for name in files.names()]
    if as_json:
        print_json(entries)
        return
    if not entries:
        typer.echo("No saved tokens (create one with `bitrouter keygen --name NAME`).")
        return
    table = Table("name", "issuer", "scope", "expiry", "models", "budget")
    for e in entries:
        if "error" in e:
            table.add_row(e["name"], f"unreadable: {e['error']}", "", "", "", "")
            continue
        models = ",".join(e["models"]) if isinstance(e.get("models"), list) else "all"
        agent = f"\n(agent {e['agent']})" if e.get("agent") else ""
        table.add_row(
            e["name"], f"{e['issuer']}{agent}", str(e["scope"]), _when(e), models, _budget(e)
        )
    Console(width=200).print(table)


def _show(files: TokenFiles, name: str, reveal: bool, as_json: bool) -> None:
    token = files.read(name)
    alg, claims = read_unverified(token)
    result: dict[str, Any] = {
        "name": name,
        "path": str(files.path(name)),
        "alg": alg,
        "token_hash": hash_of(token),
        "claims": claims,
    }
    if reveal:
        result["token"] = token
    if as_json:
        print_json(result)
        return
    for field in ("name", "path", "alg", "token_hash"):
        typer.echo(f"{field}: {result[field]}")
    for claim, value in claims.items():
        typer.echo(f"  {claim}: {json.dumps(value)}")
    if reveal:
        typer.echo(token)


def _revoke(files: TokenFiles, name: str, url: str | None, as_json: bool) -> None:
    token = files.read(name)
    _, claims = read_unverified(token)
    jti = claims.get("jti")
    body = {"jti": jti} if isinstance(jti, str) else {"token_hash": hash_of(token)}
    master = Keystore(resolve_home()).master()
    now = int(time.time())
    admin = TokenCodec().sign(
        issue_claims(master, "solana", scope="admin", iat=now, exp=now + ADMIN_TOKEN_SECONDS),
        master,
    )
    base = gateway_url(url)
    try:
        with httpx.Client(timeout=10) as client:
            response = client.post(
                f"{base}/v1/admin/revocations",
                json=body,
                headers={"authorization": f"Bearer {admin}"},
            )
    except httpx.HTTPError as exc:
        raise UpstreamUnavailable(
            f"cannot reach the gateway at {base} ({type(exc).__name__}); is it running?"
        ) from None
    if response.is_error:
        raise _refusal(response)
    by = next(iter(body))
    if as_json:
        print_json({"revoked": name, "by": by, by: body[by]})
    else:
        typer.echo(f"✓ Revoked {name} ({by} {body[by]}) at {base}")


def _refusal(response: httpx.Response) -> GatewayError:
    message = f"HTTP {response.status_code}"
    try:
        error = response.json().get("error", {})
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            message = error["message"]
    except ValueError:
        pass
    kind = _ERROR_FOR_STATUS.get(response.status_code, UpstreamError)
    return kind(f"the gateway refused the revocation: {message}")


def keys(
    list_: Annotated[bool, typer.Option("--list", help="List saved tokens (the default).")] = False,
    show: Annotated[
        str | None, typer.Option("--show", metavar="NAME", help="Show a token's claims.")
    ] = None,
    rm: Annotated[
        str | None, typer.Option("--rm", metavar="NAME", help="Delete a saved token file.")
    ] = None,
    revoke: Annotated[
        str | None,
        typer.Option("--revoke", metavar="NAME", help="Revoke a token on the running gateway."),
    ] = None,
    reveal: Annotated[
        bool, typer.Option("--reveal", help="With --show: print the token itself too.")
    ] = False,
    url: Annotated[
        str | None, typer.Option(help="Gateway URL for --revoke (default $BITROUTER_URL).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Manage the tokens saved by `bitrouter keygen`."""
    chosen = [
        flag
        for flag, on in (("--list", list_), ("--show", show), ("--rm", rm), ("--revoke", revoke))
        if on
    ]
    if len(chosen) > 1:
        raise BadRequest(f"choose one of --list, --show, --rm, --revoke (got {', '.join(chosen)})")
    if reveal and show is None:
        raise BadRequest("--reveal only goes with --show")
    files = TokenFiles(resolve_home())
    if show is not None:
        _show(files, show, reveal, as_json)
    elif rm is not None:
        path = files.remove(rm)
        if as_json:
            print_json({"removed": rm, "path": str(path)})
        else:
            typer.echo(
                f"✓ Removed {path} (the token stays valid until it expires; "
                "revoke before removing to stop it now)"
            )
    elif revoke is not None:
        _revoke(files, revoke, url, as_json)
    else:
        _list(files, as_json)


def register(app: typer.Typer) -> None:
    """Add ``keys`` to the command line."""
    app.command(name="keys")(keys)
