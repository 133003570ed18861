"""``bitrouter sim``: the provider simulator in the foreground (a test and demo double)."""

from __future__ import annotations

import signal
import sys
from typing import Annotated

import trio
import typer
from rich.markup import escape

from gateway.cli._common import fail, print_json

__all__ = ["register"]

# One paragraph per line: typer reflows them. Brackets are escaped from rich markup.
_HELP = escape(
    "Run a SIMULATOR of upstream LLM providers: it speaks the OpenAI, Anthropic and Google "
    "Gemini wire formats but is NOT a real model. Replies are deterministic, labelled "
    "'[simulated PROVIDER/MODEL] ...' and report honest token counts. Use it to run the "
    "gateway, its tests and demos without network or real keys (any non-empty key is "
    "accepted).\n\n"
    "Each simulated provider has its own prefix, /p/PROVIDER/. Faults, timing and usage can "
    "be asked for with a [[sim:KEY=VALUE,...]] marker in the last user message, x-sim-* "
    "headers, or the control plane (POST /_sim/faults, GET /_sim/stats, POST /_sim/reset); "
    "see specs/simulator.md.\n\n"
    "Prints the base URL of each API family, then runs until Ctrl-C or SIGTERM."
)


def _urls(base: str) -> dict[str, str]:
    return {
        "base_url": base,
        "openai": f"{base}/p/openai/v1",
        "anthropic": f"{base}/p/anthropic",
        "google": f"{base}/p/google/v1beta",
        "control": f"{base}/_sim",
    }


def _banner(urls: dict[str, str]) -> None:
    print("BitRouter provider SIMULATOR (simulated upstream APIs, not real models)")
    print(f"  OpenAI Chat Completions  {urls['openai']}    (any provider name after /p/)")
    print(f"  Anthropic Messages       {urls['anthropic']}")
    print(f"  Google Gemini            {urls['google']}")
    print(f"  Control plane            {urls['control']}/faults, /stats, /reset")
    print("Ctrl-C stops it.", flush=True)


def sim(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to listen on (0: any free port).")
    ] = 8788,
    ttft_ms: Annotated[
        int, typer.Option(min=0, max=60_000, help="Delay before each response starts, in ms.")
    ] = 0,
    chunk_delay_ms: Annotated[
        int, typer.Option(min=0, max=10_000, help="Delay between stream events, in ms.")
    ] = 0,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the URLs as one JSON object.")
    ] = False,
) -> None:
    """Run a SIMULATOR of upstream LLM providers (not a real model)."""
    from gateway.simulator import SimulatorConfig, serve_simulator

    config = SimulatorConfig(ttft_ms=ttft_ms, chunk_delay_ms=chunk_delay_ms)

    async def main() -> None:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async with trio.open_nursery() as nursery:
                urls = _urls(await nursery.start(serve_simulator, config, host, port))
                if json_output:
                    print_json({"simulator": True, **urls})
                    sys.stdout.flush()
                else:
                    _banner(urls)
                async for _ in signals:
                    nursery.cancel_scope.cancel()
                    break

    bind_error: OSError | None = None
    try:
        trio.run(main)
    except* OSError as group:
        leaves = [e for e in _leaves(group) if isinstance(e, OSError)]
        bind_error = leaves[0] if leaves else OSError("unknown error")
    if bind_error is not None:
        fail(f"cannot listen on {host}:{port}: {bind_error.strerror or bind_error}")
    sys.stderr.write("bitrouter: simulator stopped\n")


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    found: list[BaseException] = []
    for exc in group.exceptions:
        found += _leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc]
    return found


def register(app: typer.Typer) -> None:
    """Add ``sim`` to the command line."""
    app.command(name="sim", help=_HELP)(sim)
