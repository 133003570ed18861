"""The shape of ``bitrouter.yaml``: one frozen pydantic model per section.

Unknown keys are rejected (``extra="forbid"``) so that a typo never silently does nothing.
Secrets are ``SecretStr`` so they never print. Each section belongs to one part of the gateway;
the part's own module reads it, nothing else does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from gateway.failpoints import FailpointAction

__all__ = [
    "AcpAgentSettings",
    "AuthSettings",
    "BreakerSettings",
    "ChainSettings",
    "ChainsSettings",
    "DatabaseSettings",
    "LimitsSettings",
    "McpServerSettings",
    "ModelPolicy",
    "ProviderModelSettings",
    "ProviderSettings",
    "QuoteSettings",
    "RemoteSettings",
    "RoutingSettings",
    "ServerSettings",
    "Settings",
    "SettlementSettings",
    "SimulatorSettings",
]

Port = Annotated[int, Field(ge=0, le=65535)]
MicroUsd = Annotated[int, Field(ge=0)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSettings(_Section):
    """Where the HTTP server listens and how much it accepts."""

    host: str = "127.0.0.1"
    port: Port = 8787
    workers: Annotated[int, Field(ge=1, le=64)] = 1
    max_body_bytes: Annotated[int, Field(ge=1024)] = 4 * 1024 * 1024
    allowed_hosts: tuple[str, ...] = ()
    access_log: bool = True


class DatabaseSettings(_Section):
    """The ledger database: SQLite in the home by default, or ``postgresql://…``."""

    url: str | None = None


class ProviderModelSettings(_Section):
    """A model a provider serves that the shipped catalog does not list (e.g. a local server)."""

    model: str | None = None
    input_price: float = 0.0
    output_price: float = 0.0
    max_output_tokens: int | None = None


class ProviderSettings(_Section):
    """Credentials and overrides for one provider (a catalog provider or a new one)."""

    api_key: SecretStr | None = None
    api_base: str | None = None
    protocol: Literal["openai", "anthropic", "google"] | None = None
    enabled: bool = True
    headers: dict[str, str] = Field(default_factory=dict)
    models: dict[str, ProviderModelSettings] = Field(default_factory=dict)
    timeout_seconds: Annotated[float, Field(gt=0)] = 120.0


class SimulatorSettings(_Section):
    """The built-in provider simulator (a test and demo double, never a real model)."""

    mode: Literal["auto", "on", "off"] = "auto"
    ttft_ms: Annotated[int, Field(ge=0)] = 0
    chunk_delay_ms: Annotated[int, Field(ge=0)] = 0


class BreakerSettings(_Section):
    """Circuit breaker per provider."""

    failure_threshold: Annotated[int, Field(ge=1)] = 3
    cooldown_seconds: Annotated[float, Field(gt=0)] = 30.0


class ModelPolicy(_Section):
    """Per-model routing policy (same fields as a request's ``provider`` object)."""

    order: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    allow_fallbacks: bool = True
    sort: Literal["price", "latency", "throughput"] | None = None


class RoutingSettings(_Section):
    """Aliases, per-model policies and failover behaviour."""

    aliases: dict[str, str] = Field(default_factory=dict)
    models: dict[str, ModelPolicy] = Field(default_factory=dict)
    breaker: BreakerSettings = BreakerSettings()
    connect_timeout_seconds: Annotated[float, Field(gt=0)] = 10.0
    first_byte_timeout_seconds: Annotated[float, Field(gt=0)] = 60.0
    max_attempts: Annotated[int, Field(ge=1, le=10)] = 3


class QuoteSettings(_Section):
    """Binding price quotes."""

    ttl_seconds: Annotated[int, Field(ge=1, le=86400)] = 300


class AuthSettings(_Section):
    """Who may call: ``local`` (the master key and its agents), ``open``, ``allowlist`` or
    ``onchain`` (agents holding an on-chain authority)."""

    policy: Literal["local", "open", "allowlist", "onchain"] = "local"
    allow: tuple[str, ...] = ()
    token_cache_size: Annotated[int, Field(ge=0)] = 10_000
    max_token_bytes: Annotated[int, Field(ge=256)] = 16 * 1024


class LimitsSettings(_Section):
    """The operator's per-identity rate limits and reservation deadlines."""

    requests_per_minute: Annotated[int, Field(ge=1)] | None = None
    tokens_per_minute: Annotated[int, Field(ge=1)] | None = None
    reservation_ttl_seconds: Annotated[int, Field(ge=5)] = 600


class ChainSettings(_Section):
    """One chain family: embedded node (default), any RPC URL, or mainnet (confirmed)."""

    mode: Literal["embedded", "rpc", "mainnet"] = "embedded"
    rpc_url: str | None = None
    confirm_mainnet: bool = False
    usdc: str | None = None
    authority_program: str | None = None

    @model_validator(mode="after")
    def _mode_needs(self) -> ChainSettings:
        if self.mode == "rpc" and not self.rpc_url:
            raise ValueError("mode 'rpc' needs rpc_url")
        if self.mode == "mainnet" and not self.confirm_mainnet:
            raise ValueError("mode 'mainnet' is refused unless confirm_mainnet: true")
        return self


class ChainsSettings(_Section):
    """The chain families the gateway uses."""

    solana: ChainSettings = ChainSettings()
    tempo: ChainSettings = ChainSettings()
    default: Literal["solana", "tempo"] = "solana"


class SettlementSettings(_Section):
    """How accrued charges are paid to the operator on-chain."""

    enabled: bool = True
    interval_seconds: Annotated[float, Field(gt=0)] = 30.0
    threshold_micro_usd: MicroUsd = 1_000_000
    treasury_solana: str | None = None
    treasury_tempo: str | None = None


class McpServerSettings(_Section):
    """An upstream MCP server: stdio (command) or Streamable HTTP (url).

    ``tools`` is a glob allowlist of the server's own tool names (empty: all). ``prices`` and
    ``prices_per_kb`` are keyed by the server's own tool names; ``default_price`` and
    ``price_per_kb`` apply to the others. A result larger than ``max_result_bytes`` is refused.
    """

    name: Annotated[str, Field(pattern=r"^[a-zA-Z0-9_-]+$")]
    command: str | None = None
    args: tuple[str, ...] = ()
    env: dict[str, str] = Field(default_factory=dict)
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    tools: tuple[str, ...] = ()
    prices: dict[str, MicroUsd] = Field(default_factory=dict)
    default_price: MicroUsd = 0
    price_per_kb: MicroUsd = 0
    prices_per_kb: dict[str, MicroUsd] = Field(default_factory=dict)
    max_result_bytes: Annotated[int, Field(ge=1024)] = 1024 * 1024
    timeout_seconds: Annotated[float, Field(gt=0)] = 60.0
    reconnect_min_seconds: Annotated[float, Field(gt=0)] = 0.5
    reconnect_max_seconds: Annotated[float, Field(gt=0)] = 30.0

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerSettings:
        if (self.command is None) == (self.url is None):
            raise ValueError("an MCP server needs exactly one of 'command' or 'url'")
        # ``server__tool`` names are split at the first "__", so a name must not contain one.
        if "__" in self.name:
            raise ValueError("an MCP server name must not contain '__'")
        return self


class AcpAgentSettings(_Section):
    """A hosted ACP agent, run per session as a subprocess over stdio."""

    name: Annotated[str, Field(pattern=r"^[a-zA-Z0-9_-]+$")]
    command: str
    args: tuple[str, ...] = ()
    env: dict[str, str] = Field(default_factory=dict)
    cwd: Literal["temp", "home", "client"] = "temp"
    price_per_turn: MicroUsd = 0
    max_sessions: Annotated[int, Field(ge=1)] = 8
    idle_timeout_seconds: Annotated[float, Field(gt=0)] = 600.0
    description: str = ""
    # How long the agent may take to start (initialize + session/new), to stop after
    # session/cancel, and how long a client may be gone (no open stream) before its sessions end.
    startup_timeout_seconds: Annotated[float, Field(gt=0)] = 60.0
    cancel_grace_seconds: Annotated[float, Field(gt=0)] = 10.0
    disconnect_grace_seconds: Annotated[float, Field(gt=0)] = 30.0


class RemoteSettings(_Section):
    """Default mode: the upstream is another bitrouter gateway (an operator)."""

    url: str
    agent: str | None = None
    chain: Literal["solana", "tempo"] = "solana"


class Settings(_Section):
    """Everything the gateway is built from; made once, never changed."""

    home: Path
    mode: Literal["byok", "default"] = "byok"
    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    providers: dict[str, ProviderSettings] = Field(default_factory=dict)
    simulator: SimulatorSettings = SimulatorSettings()
    routing: RoutingSettings = RoutingSettings()
    quotes: QuoteSettings = QuoteSettings()
    auth: AuthSettings = AuthSettings()
    limits: LimitsSettings = LimitsSettings()
    chains: ChainsSettings = ChainsSettings()
    settlement: SettlementSettings = SettlementSettings()
    mcp_servers: tuple[McpServerSettings, ...] = ()
    acp_agents: tuple[AcpAgentSettings, ...] = ()
    remote: RemoteSettings | None = None
    # Provider credentials found in the environment and the home's .env (``*_API_KEY`` and
    # ``*_BASE_URL``), captured at load so that nothing else reads the environment.
    environment: dict[str, SecretStr] = Field(default_factory=dict)
    # Failpoints armed by ``BITROUTER_FAILPOINTS`` in the process environment (a testing
    # facility: see gateway/failpoints.py); never read from bitrouter.yaml.
    failpoints: dict[str, FailpointAction] = Field(default_factory=dict)

    @property
    def database_url(self) -> str:
        """The ledger URL: the configured one, else SQLite in the home."""
        return self.database.url or f"sqlite:///{self.home / 'bitrouter.db'}"

    @property
    def listen(self) -> str:
        """``host:port`` of the server."""
        return f"{self.server.host}:{self.server.port}"
