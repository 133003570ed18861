"""``bitrouter init``: the setup wizard (also what ``bitrouter`` runs on first launch).

All questions come first; nothing is written until they are answered, so Ctrl-C leaves the home
as it was. Then: the master key (if missing), Default mode's wallet and agent, ``.env`` (the
keys, mode 0600), ``bitrouter.yaml`` (the old one kept as a backup), the background server
(restarted if it ran the old config) and its health check::

    ✓ Configuration saved to ~/.bitrouter/bitrouter.yaml
    ✓ API server listening on 127.0.0.1:8787
    ✓ Health check passed
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from gateway.cli._common import print_json
from gateway.cli._init_byok import ask_provider_keys
from gateway.cli._init_default import (
    DefaultAnswers,
    DefaultFlags,
    ask_default,
    probe_remote,
    set_up_wallet,
)
from gateway.cli._prompts import Asker
from gateway.errors import BadRequest, ConfigError, GatewayError
from gateway.identity import Keystore
from gateway.settings import Settings, resolve_home
from gateway.setup import (
    ProviderKey,
    SavedConfig,
    ServerProcess,
    ServerStatus,
    SetupChoices,
    check_config,
    config_mapping,
    read_config_mapping,
    save_config,
    update_dotenv,
)

__all__ = ["InitFlags", "connect_url", "register", "run_init"]

Mode = Literal["default", "byok"]
MODES: list[tuple[str, Mode]] = [
    ("Default (remote gateway, pay per token from your wallet)", "default"),
    ("Bring Your Own Key", "byok"),
]
Say = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class InitFlags:
    """The wizard's answers given on the command line (None: ask, or the default with --yes)."""

    mode: Mode | None = None
    yes: bool = False
    listen: str | None = None
    default: DefaultFlags = field(default_factory=DefaultFlags)
    start: bool = True
    as_json: bool = False


def connect_url(host: str, port: int) -> str:
    """The URL a local client uses to reach a server listening on ``host:port``."""
    host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _listen(text: str | None, existing: dict[str, Any]) -> tuple[str, int]:
    if text is None:
        section = existing.get("server")
        server: dict[str, Any] = section if isinstance(section, dict) else {}
        host, port = server.get("host", "127.0.0.1"), server.get("port", 8787)
        return (
            (host, port) if isinstance(host, str) and isinstance(port, int) else ("127.0.0.1", 8787)
        )
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BadRequest("--listen must be HOST:PORT, like 127.0.0.1:8787", param="listen")
    return host, int(port)


def _shown(path: Path) -> str:
    try:
        return f"~/{path.relative_to(Path.home())}"
    except ValueError:
        return str(path)


def _ensure_master(home: Path, say: Say) -> dict[str, str]:
    keystore = Keystore(home)
    if keystore.has_master():
        key = keystore.master()
    else:
        key, _ = keystore.generate_master()
        say(f"  ✓ Master key created in {_shown(keystore.folder)} (your wallet and identity)")
        say(f"    Solana {key.solana_address}   EVM {key.evm_address}")
    return {"solana": key.solana_address, "evm": key.evm_address}


def _checked(home: Path, data: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    try:
        check_config(home, data, env)
    except ConfigError as exc:
        raise ConfigError(f"the new configuration would not load: {exc.message}") from None
    return data


def _mapping(home: Path, choices: SetupChoices, env: dict[str, str], say: Say) -> dict[str, Any]:
    existing = read_config_mapping(home)
    try:
        return _checked(home, config_mapping(choices, existing), env)
    except ConfigError as exc:
        if not existing:
            raise
        say(
            f"  ! The existing configuration does not load ({exc.message}); "
            "starting from a fresh one (the old file is kept as a backup)"
        )
        return _checked(home, config_mapping(choices, {}), env)


def _serve(home: Path, settings: Settings, mode: Mode) -> ServerStatus:
    server = ServerProcess(home, connect_url(settings.server.host, settings.server.port))
    if server.pid() is not None:
        server.stop()  # it runs the old configuration
    status = server.start()
    served = (status.health or {}).get("mode")
    if served not in (None, mode):
        raise GatewayError(f"the server at {server.url} reports mode {served!r}, not {mode!r}")
    return status


@dataclass(frozen=True, slots=True)
class _Plan:
    """Every answer, gathered before anything is written."""

    home: Path
    mode: Mode
    host: str
    port: int
    keys: list[ProviderKey]
    answers: DefaultAnswers | None

    def choices(self, agent: str | None) -> SetupChoices:
        if self.answers is None:
            env = {k.provider: k.env_var for k in self.keys}
            return SetupChoices("byok", self.host, self.port, env)
        return SetupChoices("default", self.host, self.port, remote=self.answers.remote(agent))

    @property
    def new_env(self) -> dict[str, str]:
        """Key values to store in ``.env`` (those found there already stay as they are)."""
        return {k.env_var: k.value for k in self.keys if k.value and k.source != ".env"}


def _quiet(line: str) -> None:
    """Says nothing: the questions phase only checks that the config will load."""


def _ask(flags: InitFlags, home: Path, say: Say) -> _Plan:
    ask = Asker(not flags.yes)
    existing = read_config_mapping(home)
    host, port = _listen(flags.listen, existing)
    if ask.interactive:
        say(f"BitRouter setup for {_shown(home)} (Ctrl-C leaves everything as it was)")
    mode = ask.choose("Choose a provider mode:", MODES, flags.mode)
    if mode == "byok":
        if flags.default != DefaultFlags():
            raise BadRequest(
                "--remote-url, --chain, --payee, --wallet and --agent go with --mode default"
            )
        plan = _Plan(home, mode, host, port, ask_provider_keys(ask, home, say), None)
        _mapping(home, plan.choices(None), {**os.environ, **plan.new_env}, _quiet)
        return plan
    answers = ask_default(ask, flags.default, existing, Keystore(home).agents())
    plan = _Plan(home, mode, host, port, [], answers)
    planned = answers.grant.label if answers.grant else answers.previous_agent
    _mapping(home, plan.choices(planned), dict(os.environ), _quiet)  # fail before any change
    return plan


def _apply(plan: _Plan, flags: InitFlags, say: Say) -> None:
    home = plan.home
    master = _ensure_master(home, say)
    agent = None
    if plan.answers is not None:
        remote_health = probe_remote(plan.answers.url, say)
        agent = set_up_wallet(home, plan.answers, remote_health, say)
    new_env = plan.new_env
    data = _mapping(home, plan.choices(agent), {**os.environ, **new_env}, say)
    if new_env:
        update_dotenv(home / ".env", new_env)
    saved = save_config(home, data)
    say(f"✓ Configuration saved to {_shown(saved.path)}")
    status = None
    if flags.start:
        settings = check_config(home, data)
        status = _serve(home, settings, plan.mode)
        say(f"✓ API server listening on {settings.listen}")
        say("✓ Health check passed")
    _finish(flags, plan, saved, {"master": master, "agent": agent}, status, say)


def _finish(
    flags: InitFlags,
    plan: _Plan,
    saved: SavedConfig,
    identity: dict[str, Any],
    status: ServerStatus | None,
    say: Say,
) -> None:
    if saved.backup:
        say(f"  (the previous configuration is kept as {_shown(saved.backup)})")
    if flags.as_json:
        env = plan.home / ".env"
        print_json(
            {
                "config": str(saved.path),
                "backup": str(saved.backup) if saved.backup else None,
                "env": str(env) if env.exists() else None,
                "mode": plan.mode,
                **identity,
                "server": status.to_json() if status else None,
            }
        )
    elif status is None:
        say("Start the server and open the dashboard with `bitrouter`.")
    else:
        say(
            "Next: `bitrouter keygen --exp 30d --scope api --name default` makes a token for "
            f"your agent to call {status.url}/v1/chat/completions; `bitrouter` opens the dashboard."
        )


def run_init(flags: InitFlags) -> None:
    """The wizard: ask, then write the config, start the server and check its health."""
    home = resolve_home()
    if not flags.yes and not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise BadRequest(
            "the setup wizard needs a terminal; run `bitrouter init --yes --mode byok` "
            "(or --mode default --remote-url URL) to set up unattended"
        )

    def say(line: str) -> None:
        print(line, file=sys.stderr if flags.as_json else sys.stdout, flush=True)

    try:
        plan = _ask(flags, home, say)
    except KeyboardInterrupt:
        say("\nSetup cancelled: nothing was changed.")
        raise typer.Exit(130) from None
    try:
        _apply(plan, flags, say)
    except KeyboardInterrupt:
        # Each file is replaced in one rename, so what was written is whole; the rest is not.
        say("\nSetup interrupted: run `bitrouter init` again to finish it.")
        raise typer.Exit(130) from None


def init(
    mode: Annotated[
        str | None, typer.Option(help="default (remote gateway, pay per token) or byok.")
    ] = None,
    yes: Annotated[
        bool,
        typer.Option("--yes", "-y", help="Unattended: take the default for every question."),
    ] = False,
    listen: Annotated[
        str | None, typer.Option(help="HOST:PORT the server listens on (127.0.0.1:8787).")
    ] = None,
    remote_url: Annotated[
        str | None, typer.Option(help="Default mode: the remote gateway's URL.")
    ] = None,
    chain: Annotated[str | None, typer.Option(help="Default mode: pay on solana or tempo.")] = None,
    chain_rpc_url: Annotated[
        str | None, typer.Option(help="Default mode: the chain's RPC URL (else the embedded one).")
    ] = None,
    wallet: Annotated[
        bool | None,
        typer.Option("--wallet/--no-wallet", help="Default mode: create the on-chain wallet."),
    ] = None,
    agent: Annotated[
        str | None, typer.Option(help="Default mode: derive an agent authority with this label.")
    ] = None,
    no_agent: Annotated[
        bool, typer.Option("--no-agent", help="Default mode: derive no agent authority now.")
    ] = False,
    per_tx_cap: Annotated[
        int | None, typer.Option(min=1, help="The agent's per-payment cap in µUSD (5000000).")
    ] = None,
    cumulative_cap: Annotated[
        int | None, typer.Option(min=1, help="The agent's cap on all payments in µUSD.")
    ] = None,
    expires_at: Annotated[
        str | None, typer.Option(help="The agent authority's expiry: 30d, 12h or a unix time.")
    ] = None,
    payee: Annotated[
        str | None,
        typer.Option(help="Default mode: the operator's settlement address the agent pays."),
    ] = None,
    start: Annotated[
        bool, typer.Option("--start/--no-start", help="Start the server and check its health.")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Set up: Default (a remote gateway) or Bring Your Own Key; then start the server."""
    if mode not in (None, "default", "byok"):
        raise BadRequest("--mode must be 'default' or 'byok'", param="mode")
    if chain not in (None, "solana", "tempo"):
        raise BadRequest("--chain must be 'solana' or 'tempo'", param="chain")
    if agent and no_agent:
        raise BadRequest("--agent and --no-agent exclude each other")
    default = DefaultFlags(
        remote_url=remote_url,
        chain="solana" if chain == "solana" else "tempo" if chain else None,
        chain_rpc_url=chain_rpc_url,
        wallet=wallet,
        agent=agent,
        no_agent=no_agent,
        per_tx_cap=per_tx_cap,
        cumulative_cap=cumulative_cap,
        expires_at=expires_at,
        payee=payee,
    )
    chosen: Mode | None = "default" if mode == "default" else "byok" if mode else None
    run_init(InitFlags(chosen, yes, listen, default, start, as_json))


def register(app: typer.Typer) -> None:
    """Add ``init`` to the command line."""
    app.command(name="init")(init)
