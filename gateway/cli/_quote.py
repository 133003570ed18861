"""``bitrouter quote MODEL --prompt TEXT``: the price of a call before making it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import trio
import typer

from gateway.catalog import load_catalog
from gateway.chat import build_router
from gateway.cli._common import gateway_url, print_json
from gateway.cli._common import settings as home_settings
from gateway.cli._remote import cli_token, request_json
from gateway.openai_wire import parse_chat_request
from gateway.quotes import MemoryQuoteStore, QuoteService
from gateway.settings import Settings

__all__ = ["quote_offline", "register", "render_quote"]

_OFFLINE_SIMULATOR = "http://simulator.offline"
_OFFLINE_IDENTITY = "offline"


def _body(model: str, prompt: str, max_tokens: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": prompt}]}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    return body


def quote_offline(settings: Settings, body: dict[str, Any]) -> dict[str, Any]:
    """A quote from the local catalog (for information: no gateway will redeem it)."""
    simulator = None if settings.simulator.mode == "off" else _OFFLINE_SIMULATOR
    router = build_router(settings, load_catalog(), simulator)
    service = QuoteService(router, MemoryQuoteStore(), settings.quotes.ttl_seconds)

    async def create() -> dict[str, Any]:
        quote = await service.create(_OFFLINE_IDENTITY, parse_chat_request(body))
        return quote.to_dict()

    result: dict[str, Any] = trio.run(create)
    result["offline"] = True
    return result


def render_quote(quote: dict[str, Any]) -> str:
    """The quote as a few lines of text."""
    prices = quote["prices_micro_usd_per_mtok"]
    expires = datetime.fromtimestamp(quote["expires_at"], UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    most = quote["max_cost_micro_usd"]
    lines = [
        f"quote {quote['id']}: {quote['model']} on {quote['provider']}",
        f"  input tokens {quote['input_tokens']:,} ({quote['tokenizer']}), "
        f"max output tokens {quote['max_output_tokens']:,}",
        f"  prices per 1M tokens: input {prices['input'] / 1e6:g} USD, "
        f"output {prices['output'] / 1e6:g} USD",
        f"  max cost {most:,} µUSD ({most / 1e6:.6f} USD), "
        f"estimated {quote['estimated_cost_micro_usd']:,} µUSD",
        f"  expires {expires}" + ("  (offline: not redeemable)" if quote.get("offline") else ""),
    ]
    return "\n".join(lines)


def quote(
    model: Annotated[str, typer.Argument(help="Model id, e.g. moonshotai:kimi-k2.5.")],
    prompt: Annotated[str, typer.Option(help="The prompt (one user message).")],
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", min=1, help="Output limit (default: computed).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    url: Annotated[
        str | None, typer.Option(help="Gateway URL (default $BITROUTER_URL, else the config).")
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Price from the local catalog (not redeemable).")
    ] = False,
) -> None:
    """Quote MODEL for a prompt: provider, unit prices, token counts and the maximum cost."""
    settings = home_settings()
    body = _body(model, prompt, max_tokens)
    if offline:
        result = quote_offline(settings, body)
    else:
        base = gateway_url(url, settings)
        result = request_json(
            "POST", f"{base}/v1/quotes", token=cli_token(settings.home), body=body
        )
    if as_json:
        print_json(result)
    else:
        typer.echo(render_quote(result))


def register(app: typer.Typer) -> None:
    """Add ``quote`` to the command line."""
    app.command(name="quote")(quote)
