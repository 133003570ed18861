"""The ``bitrouter`` command: one typer app, one module per command group.

Every command prints one clear line on stderr and exits non-zero on failure; no stack traces.
"""

from __future__ import annotations

import sys

import typer

from gateway.cli import (
    _account,
    _acp,
    _daemon,
    _dashboard,
    _first,
    _init,
    _keygen,
    _keys,
    _ledger,
    _mcp,
    _models,
    _quote,
    _route,
    _serve,
    _sim,
    _swig,
    _usage,
)
from gateway.errors import GatewayError

__all__ = ["app", "main"]

app = typer.Typer(
    name="bitrouter",
    help="BitRouter: LLM chat completions, MCP tools and ACP agents behind one wallet-signed "
    "token and on-chain spending caps.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
_serve.register(app)
_sim.register(app)
_account.register(app)
_keygen.register(app)
_keys.register(app)
_route.register(app)
_quote.register(app)
_mcp.register(app)
_ledger.register(app)
_acp.register(app)
_swig.register(app)
_models.register(app)
_usage.register(app)
_first.register(app)
_init.register(app)
_daemon.register(app)
_dashboard.register(app)


def main() -> None:
    """Entry point of the ``bitrouter`` console script."""
    try:
        app()
    except GatewayError as exc:
        print(f"bitrouter: {exc.message}", file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        print("bitrouter: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
