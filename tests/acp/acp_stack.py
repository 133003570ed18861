"""A whole gateway for the ACP tests, on loopback: ``/acp`` (the face under test), ``/mcp``
(the real MCP face with one priced upstream tool) and ``/v1/chat/completions`` (a metered relay
to the provider simulator, standing in for the gateway's chat route), all charging one
in-memory spending guard, all behind real tokens of the test home."""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from quart_trio import QuartTrio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from gateway.acp import AcpFace, MemorySpendGuard
from gateway.errors import GatewayError
from gateway.http._agents import blueprint as agents_blueprint
from gateway.identity import Principal, TokenCodec, Verifier, WalletKey, bearer_token, issue_claims
from gateway.mcp import McpFace
from gateway.settings import Settings, settings_from_mapping
from gateway.simulator import SimulatorConfig, serve_simulator
from tests.acp.acp_kb_server import kb_app

FAKE_AGENT = str(Path(__file__).with_name("acp_fake_agent.py"))
TURN_PRICE = 1000
FAKE_TURN_PRICE = 500
TOOL_PRICE = 100
MODEL_RESERVE = 5000
MICRO_USD_PER_TOKEN = 10
TOOLS = ("kb__*",)


async def serve_asgi(nursery: trio.Nursery, app: Any) -> str:
    """Serve an ASGI app with hypercorn's trio worker on a free loopback port; its base URL."""
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    config.graceful_timeout = 0.5
    config.errorlog = None
    urls: list[str] = await nursery.start(
        partial(serve, app, config, shutdown_trigger=trio.sleep_forever)
    )
    return urls[0]


def alive(pid: int) -> bool:
    """Whether a process runs (a zombie nobody reaped yet counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


async def wait_gone(pid: int) -> None:
    """Return once process ``pid`` has exited (a pidfd: an event, no polling)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        await trio.lowlevel.wait_readable(fd)
    finally:
        os.close(fd)


def mint(master: WalletKey, *, tools: tuple[str, ...] | None = TOOLS, seconds: int = 3600) -> str:
    """A token of the home's master key (scope ``api``)."""
    now = int(time.time())
    claims = issue_claims(master, "solana", scope="api", iat=now, exp=now + seconds, tools=tools)
    return TokenCodec().sign(claims, master)


class _NoGatewayTools:
    """The MCP face's own tools are hidden by the tokens' ``tools`` claim; never called."""

    async def chat(self, principal: Principal, request: dict[str, Any]) -> dict[str, Any]:
        raise AssertionError("not offered")

    async def quote(self, principal: Principal, request: dict[str, Any]) -> dict[str, Any]:
        raise AssertionError("not offered")

    async def list_models(self) -> list[dict[str, Any]]:
        return []

    async def balance(self, principal: Principal) -> dict[str, Any]:
        return {}


def _chat_relay(sim_url: str, verifier: Verifier, spend: MemorySpendGuard) -> Starlette:
    """``POST /v1/chat/completions`` (streams): reserve, relay to the simulator, charge
    ``MICRO_USD_PER_TOKEN`` per token of the reported usage."""

    async def completions(request: Request) -> Response:
        try:
            header = request.headers.get("authorization")
            principal = await verifier.verify(bearer_token(header), scope="api")
            body = await request.json()
            request_id = f"chat_{secrets.token_hex(6)}"
            hold = await spend.reserve(
                principal,
                kind="model",
                subject=body["model"],
                amount=MODEL_RESERVE,
                tokens=0,
                request_id=request_id,
            )
        except GatewayError as exc:
            return JSONResponse(exc.to_openai(), status_code=exc.status)
        client = httpx.AsyncClient(timeout=30)
        upstream = await client.send(
            client.build_request(
                "POST",
                f"{sim_url}/p/openai/v1/chat/completions",
                json=body,
                headers={"authorization": "Bearer simulated"},
            ),
            stream=True,
        )

        async def relay() -> Any:
            usage: dict[str, Any] | None = None
            try:
                async for line in upstream.aiter_lines():
                    if line.startswith("data: {"):
                        usage = json.loads(line[6:]).get("usage") or usage
                    yield line + "\n"
            finally:
                with trio.CancelScope(shield=True):
                    await upstream.aclose()
                    await client.aclose()
                    if usage is None:
                        await spend.cancel(hold, None)
                    else:
                        tokens = usage["prompt_tokens"] + usage["completion_tokens"]
                        await spend.settle(hold, tokens * MICRO_USD_PER_TOKEN, {"usage": usage})

        return StreamingResponse(relay(), media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])


def agents_route(face: AcpFace) -> QuartTrio:
    """The gateway's ``GET /v1/agents`` route, its runtime holding ``face`` as ``acp``."""
    app = QuartTrio("acp-tests")
    app.register_blueprint(agents_blueprint())
    app.extensions["bitrouter"] = SimpleNamespace(acp=face)
    return app


@dataclass
class Stack:
    """A running test gateway."""

    url: str
    acp: AcpFace
    spend: MemorySpendGuard
    sim_url: str
    token: str
    identity: str
    issued: list[str] = field(default_factory=list)

    def endpoint(self, agent: str) -> str:
        """The ACP endpoint of ``agent``."""
        return f"{self.url}/acp/{agent}"


StartStack = Callable[..., Awaitable[Stack]]


def agent_entries(
    overrides: dict[str, dict[str, Any]], hosted: tuple[str, ...]
) -> list[dict[str, Any]]:
    """The hosted agents: ``assistant`` (the real one) and ``fake`` (the test agent), those of
    ``hosted`` and ``overrides``."""
    agents: dict[str, dict[str, Any]] = {
        "assistant": {
            "name": "assistant",
            "command": sys.executable,
            "args": ["-m", "agents.assistant"],
            "price_per_turn": TURN_PRICE,
            "description": "The BitRouter assistant",
        },
        "fake": {
            "name": "fake",
            "command": sys.executable,
            "args": [FAKE_AGENT],
            "price_per_turn": FAKE_TURN_PRICE,
            "env": {"SECRET": "operator-value"},
        },
    }
    for name, fields in overrides.items():
        agents[name] = {**agents.get(name, {"name": name}), **fields}
    return [agent for name, agent in agents.items() if name in hosted or name in overrides]


def stack_settings(
    home: Path, kb_url: str, agents: dict[str, dict[str, Any]], hosted: tuple[str, ...]
) -> Settings:
    """Settings with the ``kb`` MCP server and the hosted agents."""
    kb = {"name": "kb", "url": kb_url, "prices": {"lookup": TOOL_PRICE}, "timeout_seconds": 20}
    data = {"mcp_servers": [kb], "acp_agents": agent_entries(agents, hosted)}
    return settings_from_mapping(data, home, environ={})


async def start_stack(
    nursery: trio.Nursery,
    home: Path,
    master: WalletKey,
    verifier: Verifier,
    *,
    cap: int | None = None,
    agents: dict[str, dict[str, Any]] | None = None,
    hosted: tuple[str, ...] = ("assistant", "fake"),
) -> Stack:
    """Start the whole gateway in ``nursery`` (hosting the agents named in ``hosted``, with
    fields of ``agents`` overridden)."""
    sim_url = await nursery.start(serve_simulator, SimulatorConfig())
    kb_url = await serve_asgi(nursery, kb_app()) + "/mcp"
    settings = stack_settings(home, kb_url, agents or {}, hosted)
    spend = MemorySpendGuard(cap=cap)

    async def authenticate(header: str | None) -> Principal:
        return await verifier.verify(bearer_token(header), scope="api")

    mcp = McpFace(
        settings,
        authenticate=authenticate,
        check_tool=verifier.check_tool,
        spend=spend,
        tools=_NoGatewayTools(),
    )
    await nursery.start(mcp.run)
    with trio.fail_after(20):
        await mcp.wait_until(lambda status: all(u.connected for u in status.values()))
    chat = _chat_relay(sim_url, verifier, spend)
    faces: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        path = scope.get("path", "")
        if path == "/acp" or path.startswith("/acp/"):
            await faces["acp"].asgi(scope, receive, send)
        elif path == "/mcp" or path.startswith("/mcp/"):
            await mcp.asgi(scope, receive, send)
        elif path == "/v1/agents":
            await faces["routes"](scope, receive, send)
        else:
            await chat(scope, receive, send)

    url = await serve_asgi(nursery, app)
    issued: list[str] = []

    async def session_token(principal: Principal) -> str:
        # The identity layer's job in the product: a short-lived token of the same caller.
        token = mint(master, tools=principal.claims.tools, seconds=600)
        issued.append(token)
        return token

    face = AcpFace(
        settings,
        authenticate=authenticate,
        spend=spend,
        session_token=session_token,
        gateway_url=url,
    )
    faces["acp"] = face
    faces["routes"] = agents_route(face)
    await nursery.start(face.run)
    token = mint(master)
    identity = (await authenticate(f"Bearer {token}")).identity
    return Stack(url, face, spend, sim_url, token, identity, issued)
