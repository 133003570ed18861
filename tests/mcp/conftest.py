"""Fixtures of the MCP face tests: real tokens, the HTTP upstream, the face on loopback HTTP."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import trio

from gateway.identity import (
    AccessPolicy,
    Keystore,
    MemoryRevocationStore,
    Principal,
    TokenCodec,
    Verifier,
    WalletKey,
    bearer_token,
    issue_claims,
)
from gateway.mcp import McpFace, MemorySpendGuard
from gateway.settings import AuthSettings
from tests.mcp.mcp_fixtures import (
    FakeGatewayTools,
    Gateway,
    Mint,
    StartGateway,
    gateway_settings,
    serve_asgi,
)
from tests.mcp.mcp_upstream_http import http_upstream_app


class _SystemClock:
    def now(self) -> float:
        return time.time()


@pytest.fixture
def master(home: Path) -> WalletKey:
    """The home's master key."""
    key, _ = Keystore(home).generate_master()
    return key


@pytest.fixture
def verifier(home: Path, master: WalletKey) -> Verifier:
    """The real token verifier of the home (policy ``local``)."""
    settings = AuthSettings()
    policy = AccessPolicy(settings, Keystore(home), clock=_SystemClock())
    return Verifier(settings, policy, MemoryRevocationStore())


@pytest.fixture
def mint(master: WalletKey) -> Mint:
    """``mint(tools=None, scope="api")``: a token signed by the home's master key."""

    def make(tools: Sequence[str] | None = None, scope: Any = "api") -> str:
        now = int(time.time())
        claims = issue_claims(master, "solana", scope=scope, iat=now, exp=now + 3600, tools=tools)
        return TokenCodec().sign(claims, master)

    return make


@pytest.fixture
async def calc_url(nursery: trio.Nursery) -> str:
    """The HTTP upstream's MCP endpoint."""
    return await serve_asgi(nursery, http_upstream_app()) + "/mcp"


@pytest.fixture
def start_gateway(
    nursery: trio.Nursery, home: Path, verifier: Verifier, calc_url: str
) -> StartGateway:
    """``await start_gateway(cap=None, files={…}, calc={…}, **sections)``: the face on loopback,
    its upstreams connected."""

    async def authenticate(header: str | None) -> Principal:
        return await verifier.verify(bearer_token(header), scope="api")

    async def start(cap: int | None = None, **options: Any) -> Gateway:
        spend = MemorySpendGuard(cap=cap)
        tools = FakeGatewayTools()
        face = McpFace(
            gateway_settings(home, calc_url, **options),
            authenticate=authenticate,
            check_tool=verifier.check_tool,
            spend=spend,
            tools=tools,
        )
        await nursery.start(face.run)
        with trio.fail_after(30):
            await face.wait_until(lambda s: all(u.connected for u in s.values()))
        url = await serve_asgi(nursery, face.asgi)
        return Gateway(url=url + "/mcp", face=face, spend=spend, tools=tools)

    return start
