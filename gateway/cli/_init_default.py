"""The wizard's Default-mode questions and steps: the remote gateway, the wallet, the agent.

The wallet and the agent authority are made by the documented commands (``bitrouter swig
create-wallet`` and ``swig derive-agent``), run as child processes so that the wizard does
exactly what a user typing them would. A step that fails is reported in one line and the setup
goes on: the config is still written and the commands can be run again later.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx

from gateway.cli._keygen import parse_expiry
from gateway.cli._prompts import Asker
from gateway.errors import BadRequest
from gateway.setup import RemoteChoice, check_health

__all__ = [
    "DEFAULT_REMOTE_URL",
    "AgentGrant",
    "DefaultAnswers",
    "DefaultFlags",
    "ask_default",
    "probe_remote",
    "set_up_wallet",
    "url_problem",
]

DEFAULT_REMOTE_URL = "https://api.bitrouter.ai"
Chain = Literal["solana", "tempo"]
_CHAINS: list[tuple[str, Chain]] = [("Solana (USDC)", "solana"), ("Tempo (USDC)", "tempo")]


@dataclass(frozen=True, slots=True)
class AgentGrant:
    """The agent authority to derive: its label and its three on-chain limits."""

    label: str
    per_tx_cap: int
    cumulative_cap: int
    expires_at: int


@dataclass(frozen=True, slots=True)
class DefaultFlags:
    """The Default-mode answers given on the command line (None: ask)."""

    remote_url: str | None = None
    chain: Chain | None = None
    chain_rpc_url: str | None = None
    wallet: bool | None = None
    agent: str | None = None
    no_agent: bool = False
    per_tx_cap: int | None = None
    cumulative_cap: int | None = None
    expires_at: str | None = None
    payee: str | None = None


def url_problem(text: str) -> str | None:
    """Why ``text`` is not an http(s) URL, or None."""
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, TypeError):
        return "not a URL"
    if url.scheme not in ("http", "https") or not url.host:
        return "expected http://HOST[:PORT] or https://HOST"
    return None


def _amount_problem(text: str) -> str | None:
    return None if text.isdigit() and int(text) > 0 else "a positive whole number of µUSD"


def _expiry_problem(text: str) -> str | None:
    try:
        _expiry(text)
    except BadRequest as exc:
        return exc.message
    return None


def _expiry(text: str) -> int:
    expires = parse_expiry(text, now=int(time.time()), scope="api")
    if expires is None:
        raise BadRequest("an agent authority needs an expiry (like 30d or a unix time)")
    return expires


def _ask_agent(ask: Asker, flags: DefaultFlags, existing: str | None) -> AgentGrant | None:
    # An agent the config already names keeps its authority unless the user asks again.
    derive = ask.confirm(
        "Derive an agent authority (your agent spends within caps enforced on-chain)?",
        default=existing is None,
        given=False if flags.no_agent else (True if flags.agent else None),
    )
    if not derive:
        return None
    label = ask.text("Agent label:", existing or "my-coding-agent", flags.agent)
    given_tx = None if flags.per_tx_cap is None else str(flags.per_tx_cap)
    given_cum = None if flags.cumulative_cap is None else str(flags.cumulative_cap)
    per_tx = ask.text("Per-transaction cap (µUSD):", "5000000", given_tx, _amount_problem)
    total = ask.text("Cumulative cap (µUSD):", "50000000", given_cum, _amount_problem)
    expiry = ask.text(
        "Expires (30d, 12h or a unix time):", "30d", flags.expires_at, _expiry_problem
    )
    for value, flag in ((per_tx, "--per-tx-cap"), (total, "--cumulative-cap")):
        if _amount_problem(value):
            raise BadRequest(f"{flag} must be a positive whole number of µUSD")
    if int(per_tx) > int(total):
        raise BadRequest("--per-tx-cap must not exceed --cumulative-cap")
    return AgentGrant(label, int(per_tx), int(total), _expiry(expiry))


@dataclass(frozen=True, slots=True)
class DefaultAnswers:
    """What Default mode will do: the remote gateway, the chain, the wallet and the agent."""

    url: str
    chain: Chain
    chain_rpc_url: str | None
    create_wallet: bool
    grant: AgentGrant | None
    previous_agent: str | None
    payee: str | None = None

    def remote(self, agent: str | None) -> RemoteChoice:
        """The ``remote`` section, paid by ``agent``."""
        return RemoteChoice(self.url, agent, self.chain, self.chain_rpc_url)


def ask_default(
    ask: Asker, flags: DefaultFlags, existing: dict[str, Any], agents: list[str]
) -> DefaultAnswers:
    """The remote gateway, whether to create the wallet now, and the agent authority to derive.

    Raises:
        BadRequest: a flag's value is invalid (the message names the flag).
    """
    remote = existing.get("remote")
    old: dict[str, Any] = remote if isinstance(remote, dict) else {}
    old_url = old.get("url") if isinstance(old.get("url"), str) else None
    url = ask.text(
        "Remote gateway URL:", old_url or DEFAULT_REMOTE_URL, flags.remote_url, url_problem
    )
    if problem := url_problem(url):
        raise BadRequest(f"--remote-url: {problem}", param="remote_url")
    chain = ask.choose("Pay on which chain?", _CHAINS, flags.chain)
    wallet = ask.confirm("Create your on-chain wallet now?", default=True, given=flags.wallet)
    old_agent = old.get("agent") if old.get("agent") in agents else None
    grant = _ask_agent(ask, flags, old_agent)
    if flags.chain_rpc_url and (problem := url_problem(flags.chain_rpc_url)):
        raise BadRequest(f"--chain-rpc-url: {problem}", param="chain_rpc_url")
    return DefaultAnswers(
        url.rstrip("/"), chain, flags.chain_rpc_url, wallet, grant, old_agent, flags.payee
    )


def _swig(home: Path, args: list[str]) -> tuple[bool, str]:
    command = [sys.executable, "-m", "gateway.cli", "swig", *args]
    env = {**os.environ, "BITROUTER_HOME": str(home)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode == 0:
        return True, done.stdout
    errors = done.stderr.splitlines()
    if any("No such command" in line for line in errors):
        return False, "the `swig` commands are not available in this build"
    ours = [line for line in errors if line.startswith("bitrouter:")]
    last = ours[-1] if ours else next((x for x in reversed(errors) if x.strip()), "")
    return False, last.removeprefix("bitrouter:").strip() or f"exit status {done.returncode}"


def _payee(answers: DefaultAnswers, remote_health: dict[str, Any] | None) -> str | None:
    # The operator pulls the payments, so the authority names its settlement address: given
    # with --payee, else as the remote gateway publishes it (``payees`` in its /health).
    if answers.payee:
        return answers.payee
    payees = (remote_health or {}).get("payees")
    found = payees.get(answers.chain) if isinstance(payees, dict) else None
    return found if isinstance(found, str) and found else None


def set_up_wallet(
    home: Path,
    answers: DefaultAnswers,
    remote_health: dict[str, Any] | None,
    say: Callable[[str], None],
) -> str | None:
    """Create the wallet and derive the agent as asked; the label of the agent that pays."""
    if answers.create_wallet:
        ok, text = _swig(home, ["create-wallet", "--chain", answers.chain])
        for line in text.strip().splitlines() if ok else []:
            say(f"  {line}")
        if not ok:
            say(f"  ! Wallet not created: {text}; run `bitrouter swig create-wallet` later")
    grant = answers.grant
    if grant is None:
        return answers.previous_agent
    payee = _payee(answers, remote_health)
    if payee is None:
        say(
            "  ! Agent authority not derived: the remote gateway does not say where to pay; "
            "run `bitrouter swig derive-agent --payee ADDRESS` with the operator's address"
        )
        return None
    args = ["derive-agent", "--label", grant.label, "--chain", answers.chain, "--payee", payee]
    args += ["--per-tx-cap", str(grant.per_tx_cap), "--cumulative-cap", str(grant.cumulative_cap)]
    ok, text = _swig(home, [*args, "--expires-at", str(grant.expires_at)])
    if not ok:
        say(f"  ! Agent authority not derived: {text}; run `bitrouter swig derive-agent` later")
        return None
    for line in text.strip().splitlines():
        say(f"  {line}")
    return grant.label


def probe_remote(url: str, say: Callable[[str], None]) -> dict[str, Any] | None:
    """Say whether the remote gateway answers its health check now; its answer, if any."""
    health = check_health(url, timeout=5.0)
    if health is None:
        say(f"  ! The remote gateway at {url} does not answer now; requests fail until it does")
    else:
        say(f"  ✓ Remote gateway at {url} answers (bitrouter {health.get('version', '?')})")
    return health
