"""The composition root: everything a running gateway is made of, built from one Settings.

Faces (HTTP routes, ``/mcp``, ``/acp``, the in-process API) receive a :class:`Runtime` and call
its services; nothing else builds services or reads the environment.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import trio

from gateway.acp import AcpFace
from gateway.catalog import load_catalog
from gateway.chat import ChatService, build_chat_service
from gateway.core import Catalog
from gateway.identity import (
    AccessPolicy,
    Keystore,
    Principal,
    SystemClock,
    Verifier,
    bearer_token,
    session_token,
)
from gateway.ledger import Ledger, open_ledger
from gateway.mcp import McpFace
from gateway.metering import LedgerQuoteStore, LedgerSpendGuard, WalletLookup
from gateway.metrics import Metrics
from gateway.onchain import Onchain, open_onchain
from gateway.providers import (
    ProviderStatus,
    create_upstream_transport,
    load_remote_catalog,
    remote_settings,
    resolve_endpoints,
)
from gateway.settings import Settings
from gateway.simulator import SimulatorConfig, serve_simulator
from gateway.toolbox import GatewayToolbox

__all__ = ["SIMULATOR_NOTE", "Runtime", "open_runtime"]

_log = logging.getLogger("bitrouter")

SIMULATOR_NOTE = (
    "SIMULATOR: no provider API key is set, so every model is answered by the built-in provider "
    "simulator (deterministic fake replies, not a real model)"
)
_RECOVERY_SECONDS = 60.0


@dataclass
class Runtime:
    """The services of one gateway process."""

    settings: Settings
    catalog: Catalog
    metrics: Metrics
    nursery: trio.Nursery
    keystore: Keystore
    verifier: Verifier
    ledger: Ledger
    spend: LedgerSpendGuard
    chat: ChatService
    mcp: McpFace
    acp: AcpFace
    onchain: Onchain
    simulator_url: str | None = None
    wallets: WalletLookup | None = None

    @property
    def revocations(self) -> Ledger:
        """Where revocations are kept (the ledger database, shared by every process)."""
        return self.ledger

    @property
    def simulated(self) -> bool:
        """True when providers are served by the built-in simulator."""
        return self.simulator_url is not None

    def provider_status(self, provider: str) -> ProviderStatus:
        """Whether a provider is routable, simulated, and why."""
        return self.chat.provider_status(provider)


def _local_url(settings: Settings) -> str:
    """How processes on this machine (hosted agents) reach this gateway."""
    host = settings.server.host
    host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{settings.server.port}"


def _needs_simulator(settings: Settings, catalog: Catalog) -> bool:
    if remote_settings(settings) is not None:
        return False  # default mode: the operator serves every model
    mode = settings.simulator.mode
    if mode != "auto":
        return mode == "on"
    return len(resolve_endpoints(catalog, settings)) == 0


async def _start_simulator(settings: Settings, nursery: trio.Nursery) -> str:
    config = SimulatorConfig(
        ttft_ms=settings.simulator.ttft_ms, chunk_delay_ms=settings.simulator.chunk_delay_ms
    )
    url: str = await nursery.start(serve_simulator, config)
    _log.info("%s (simulator at %s)", SIMULATOR_NOTE, url)
    return url


@contextlib.asynccontextmanager
async def open_runtime(
    settings: Settings, nursery: trio.Nursery, metrics: Metrics
) -> AsyncIterator[Runtime]:
    """Build the runtime, start its background work in ``nursery``, close it on exit."""
    catalog = load_catalog()
    remote = remote_settings(settings)
    if remote is not None:  # default mode: the operator's models, at its prices
        catalog = await load_remote_catalog(catalog, remote)
    simulator_url = None
    if _needs_simulator(settings, catalog):
        simulator_url = await _start_simulator(settings, nursery)
    keystore = Keystore(settings.home)
    clock = SystemClock()
    async with (
        open_ledger(settings.database_url, limits=settings.limits) as ledger,
        open_onchain(settings, ledger, keystore) as onchain,
        create_upstream_transport(settings) as transport,
    ):
        nursery.start_soon(ledger.run_recovery, _RECOVERY_SECONDS)
        if settings.settlement.enabled:
            await nursery.start(onchain.run_settlement)
        policy = AccessPolicy(settings.auth, keystore, clock=clock, onchain=onchain.onchain_policy)
        verifier = Verifier(settings.auth, policy, ledger, clock=clock)
        spend = LedgerSpendGuard(ledger, onchain.paying_authority)
        chat = build_chat_service(
            settings,
            catalog,
            transport=transport,
            # The chat service hands the faces' identity.Principal through to the guard; its
            # protocol only names the two members it reads itself.
            spend=spend,  # type: ignore[arg-type]
            simulator_url=simulator_url,
            quote_store=LedgerQuoteStore(ledger),  # single-use across every process
        )

        async def authenticate(header: str | None) -> Principal:
            return await verifier.verify(bearer_token(header), scope="api")

        mcp = McpFace(
            settings,
            authenticate=authenticate,
            check_tool=verifier.check_tool,
            spend=spend,
            tools=GatewayToolbox(chat, catalog, spend, onchain.balance_lookup),
        )
        await nursery.start(mcp.run)

        async def agent_session_token(principal: Principal) -> str:
            budget = await spend.headroom(principal)
            return session_token(keystore, principal, budget=budget)

        acp = AcpFace(
            settings,
            authenticate=authenticate,
            spend=spend,
            session_token=agent_session_token,
            gateway_url=_local_url(settings),
        )
        await nursery.start(acp.run)
        _log.info("catalog: %d models, %d routable providers", len(catalog), len(chat.endpoints))
        yield Runtime(
            settings=settings,
            catalog=catalog,
            metrics=metrics,
            nursery=nursery,
            keystore=keystore,
            verifier=verifier,
            ledger=ledger,
            spend=spend,
            chat=chat,
            mcp=mcp,
            acp=acp,
            onchain=onchain,
            simulator_url=simulator_url,
            wallets=onchain.balance_lookup,
        )
