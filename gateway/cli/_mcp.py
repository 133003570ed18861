"""``bitrouter mcp``: list and call the tools of a running gateway, and configure MCP clients.

``list`` and ``call`` speak MCP to the gateway's ``/mcp`` with the official SDK client and a
saved token (``tokens/NAME.jwt``; without a saved ``default`` token, a 15-minute one is signed
with the home's master key and kept in memory only).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import httpx
import trio
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
    SpendingError,
    UpstreamError,
    UpstreamUnavailable,
)
from gateway.identity import Keystore, TokenCodec, TokenFiles, issue_claims
from gateway.settings import resolve_home

if TYPE_CHECKING:  # the MCP SDK is imported by the commands that use it (it is large)
    import mcp_types as types
    from mcp import Client, MCPError

__all__ = ["register"]

_T = TypeVar("_T")
_DEFAULT_TOKEN = "default"
_EPHEMERAL_SECONDS = 900
_ERRORS: dict[int, type[GatewayError]] = {
    -32001: AuthError,
    -32002: SpendingError,
    -32003: Forbidden,
    -32601: NotFound,
    -32602: BadRequest,
    -32005: UpstreamError,
}
_STATUS_ERRORS: dict[int, type[GatewayError]] = {401: AuthError, 403: Forbidden, 404: NotFound}
_TOKEN_ENV = "BITROUTER_TOKEN"

mcp_app = typer.Typer(help="MCP tools through a running gateway.", no_args_is_help=True)

UrlOption = Annotated[
    str | None, typer.Option("--url", help="Gateway URL (default $BITROUTER_URL, else the config).")
]
TokenOption = Annotated[
    str, typer.Option("--token", metavar="NAME", help="Saved token to use (tokens/NAME.jwt).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _token(name: str) -> str:
    home = resolve_home()
    try:
        return TokenFiles(home).read(name)
    except NotFound:
        keys = Keystore(home)
        if name != _DEFAULT_TOKEN or not keys.has_master():
            raise NotFound(
                f"no saved token named {name!r} (create one with `bitrouter keygen --name {name}`)"
            ) from None
        master, now = keys.master(), int(time.time())
        claims = issue_claims(master, "solana", scope="api", iat=now, exp=now + _EPHEMERAL_SECONDS)
        return TokenCodec().sign(claims, master)


def _refusal(error: MCPError) -> GatewayError:
    kind = _ERRORS.get(error.code, GatewayError)
    return kind(error.message)


def _diagnose(endpoint: str, token: str) -> GatewayError:
    """Why the MCP client could not connect, asked with a plain HTTP request."""
    body = {"jsonrpc": "2.0", "id": 0, "method": "tools/list", "params": {}}
    headers = {"authorization": f"Bearer {token}", "accept": "application/json, text/event-stream"}
    try:
        answer = httpx.post(endpoint, json=body, headers=headers, timeout=10)
    except httpx.HTTPError as exc:
        return UpstreamUnavailable(
            f"cannot reach the gateway at {endpoint} ({type(exc).__name__}); is it running?"
        )
    message = f"HTTP {answer.status_code}"
    with contextlib.suppress(ValueError, KeyError, TypeError):
        message = answer.json()["error"]["message"]
    kind = _STATUS_ERRORS.get(answer.status_code, UpstreamError)
    return kind(f"the gateway refused the MCP connection: {message}")


def _with_client(url: str | None, token_name: str, use: Callable[[Client], Awaitable[_T]]) -> _T:
    import httpx2
    from mcp import Client, MCPError
    from mcp.client.streamable_http import streamable_http_client

    endpoint = f"{gateway_url(url)}/mcp"
    token = _token(token_name)
    refused: list[MCPError] = []

    async def work() -> _T | None:
        headers = {"authorization": f"Bearer {token}"}
        async with (
            httpx2.AsyncClient(headers=headers) as http,
            Client(streamable_http_client(endpoint, http_client=http)) as client,
        ):
            try:
                return await use(client)
            except MCPError as exc:
                refused.append(exc)
                return None

    try:
        result = trio.run(work)
    except* (MCPError, httpx2.HTTPError, OSError):
        raise _diagnose(endpoint, token) from None
    if refused:
        raise _refusal(refused[0])
    assert result is not None
    return result


def _price(tool: types.Tool) -> str:
    price = (tool.meta or {}).get("bitrouter/price")
    if not isinstance(price, dict):
        return "-"
    text = f"{price.get('per_call_micro_usd', 0)} µUSD"
    if price.get("per_kb_micro_usd"):
        text += f" + {price['per_kb_micro_usd']}/KiB"
    return text


@mcp_app.command("list")
def list_tools(
    url: UrlOption = None, token: TokenOption = _DEFAULT_TOKEN, as_json: JsonOption = False
) -> None:
    """The tools your token may call, with their prices."""

    async def fetch(client: Client) -> list[types.Tool]:
        return (await client.list_tools()).tools

    tools = _with_client(url, token, fetch)
    if as_json:
        print_json([t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools])
        return
    table = Table("tool", "price", "description")
    for tool in tools:
        table.add_row(tool.name, _price(tool), (tool.description or "").split("\n")[0][:80])
    Console(width=200).print(table)


@mcp_app.command("call")
def call_tool(
    tool: Annotated[str, typer.Argument(help="Tool name, e.g. files__read or chat.")],
    args: Annotated[str, typer.Option("--args", help="Arguments as a JSON object.")] = "{}",
    url: UrlOption = None,
    token: TokenOption = _DEFAULT_TOKEN,
    as_json: JsonOption = False,
) -> None:
    """Call one tool and print its result (exit 1 if the tool reports an error)."""
    try:
        arguments = json.loads(args)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"--args is not valid JSON ({exc.msg})", param="args") from None
    if not isinstance(arguments, dict):
        raise BadRequest("--args must be a JSON object", param="args")

    async def run(client: Client) -> types.CallToolResult:
        return await client.call_tool(tool, arguments)

    import mcp_types as types

    result = _with_client(url, token, run)
    if as_json:
        print_json(result.model_dump(mode="json", by_alias=True, exclude_none=True))
    else:
        for item in result.content:
            if isinstance(item, types.TextContent):
                typer.echo(item.text)
            else:
                typer.echo(
                    json.dumps(item.model_dump(mode="json", by_alias=True, exclude_none=True))
                )
        cost = (result.meta or {}).get("bitrouter/cost_micro_usd")
        if cost is not None:
            typer.echo(f"(charged {cost} µUSD)", err=True)
    if result.is_error:
        raise typer.Exit(1)


def _client_block(client: str, endpoint: str, token: str | None) -> dict[str, Any]:
    reference = "${" + _TOKEN_ENV + "}" if client == "claude" else "${env:" + _TOKEN_ENV + "}"
    headers = {"Authorization": f"Bearer {token or reference}"}
    server: dict[str, Any] = {"url": endpoint, "headers": headers}
    if client == "claude":
        server = {"type": "http", **server}
    return {"mcpServers": {"bitrouter": server}}


@mcp_app.command("install")
def install(
    client: Annotated[
        str, typer.Option("--client", help="The MCP client to configure: claude or cursor.")
    ],
    url: UrlOption = None,
    token: TokenOption = _DEFAULT_TOKEN,
    embed_token: Annotated[
        bool, typer.Option("--embed-token", help="Put the token itself in the block.")
    ] = False,
) -> None:
    """Print the configuration block that points an MCP client at this gateway's /mcp."""
    if client not in ("claude", "cursor"):
        raise BadRequest(f"--client must be claude or cursor (got {client!r})", param="client")
    endpoint = f"{gateway_url(url)}/mcp"
    secret = _token(token) if embed_token else None
    print_json(_client_block(client, endpoint, secret))
    where = "the project's .mcp.json (Claude Code)" if client == "claude" else "~/.cursor/mcp.json"
    typer.echo(f"Add this to {where}.", err=True)
    if not embed_token:
        path = TokenFiles(resolve_home()).path(token)
        typer.echo(f'Then set the token: export {_TOKEN_ENV}="$(cat {path})"', err=True)


def register(app: typer.Typer) -> None:
    """Add ``mcp list|call|install`` to the command line."""
    app.add_typer(mcp_app, name="mcp")
