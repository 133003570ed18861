"""CPU of each step of a chat request, measured in-process on the real runtime.

    python scripts/bench_hotpath.py [-n 1000] [--rounds 3] [--ledger-dir /dev/shm] [--json]

It builds the same throwaway home as ``bench_gateway.py`` (provider ``bench`` on the fake
upstream of ``../shared/bench`` at 127.0.0.1:18080, which must be running) and times, one call
after another, each step of a non-streaming ``POST /v1/chat/completions``: token verification
with and without the verified-token cache, parsing, planning, the ledger's reserve and charge,
the upstream call, the whole chat service call — and the whole ASGI app called in memory (no
server, no client sockets): the hot path as served, the same with the token cache off, the
same request through Quart, and ``GET /health`` through Quart. CPU is the process's (every
thread's) CPU time per call. Each step is measured ``--rounds`` times, interleaved; the median
and the minimum are shown (on a shared machine the minimum is the least disturbed).
``--ledger-dir /dev/shm`` takes the disk's fsync out of each charge.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio
import yaml
from quart_trio import QuartTrio

from gateway.chat import UsageRecord
from gateway.core import TokenCounts
from gateway.http._app import create_app
from gateway.http._mounts import Mounts
from gateway.http._observe import ObserveMiddleware
from gateway.identity import Keystore, mint_token
from gateway.metrics import Metrics
from gateway.openai_wire import parse_chat_request
from gateway.providers import UpstreamCall
from gateway.runtime import Runtime
from gateway.settings import Settings, load_settings

Step = Callable[[int], Awaitable[object]]
_BODY = (
    b'{"model":"fake-model","messages":[{"role":"system","content":"You are a benchmark."},'
    b'{"role":"user","content":"Say something short for the gateway overhead benchmark."}],'
    b'"max_tokens":32,"temperature":0}'
)


def _home(root: Path, ledger_dir: Path | None) -> Path:
    home = root / "home"
    home.mkdir(mode=0o700)
    prices = {"input_price": 1.0, "output_price": 2.0}
    config: dict[str, Any] = {
        "server": {"access_log": False},
        "simulator": {"mode": "off"},
        "providers": {
            "bench": {
                "protocol": "openai",
                "api_base": "http://127.0.0.1:18080/v1",
                "api_key": "sk-bench-not-a-secret",
                "models": {"fake-model": prices},
            }
        },
    }
    if ledger_dir is not None:
        config["database"] = {"url": f"sqlite:///{ledger_dir / 'ledger.db'}"}
    (home / "bitrouter.yaml").write_text(yaml.safe_dump(config))
    Keystore(home).generate_master()
    return home


async def _measure(n: int, step: Step) -> float:
    """CPU µs per call of ``step`` over ``n`` calls (after a short warm-up)."""
    for i in range(min(50, n)):
        await step(i)
    cpu0 = time.process_time()
    for i in range(n):
        await step(i)
    return (time.process_time() - cpu0) / n * 1e6


class _Exchange:
    """One in-memory ASGI request/response."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.status = 0
        self.sent = False

    async def receive(self) -> dict[str, Any]:
        if not self.sent:
            self.sent = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]


def _scope(method: str, path: str, token: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-length", str(len(_BODY)).encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
    }


def _request(asgi: Any, method: str, path: str, token: str) -> Step:
    async def step(i: int) -> object:
        exchange = _Exchange(_BODY if method == "POST" else b"")
        await asgi(_scope(method, path, token), exchange.receive, exchange.send)
        assert exchange.status == 200, exchange.status
        return exchange

    return step


@asynccontextmanager
async def _serving(settings: Settings) -> AsyncIterator[QuartTrio]:
    """The app with its lifespan started (runtime open), stopped on exit."""
    app = create_app(settings)
    to_app, inbox = trio.open_memory_channel[dict[str, Any]](1)
    from_app, outbox = trio.open_memory_channel[dict[str, Any]](1)

    async def lifespan_send(message: Any) -> None:
        await from_app.send(dict(message))

    async with trio.open_nursery() as nursery:
        lifespan: Any = {"type": "lifespan", "asgi": {"version": "3.0"}}
        asgi: Any = app
        nursery.start_soon(asgi, lifespan, inbox.receive, lifespan_send)
        await to_app.send({"type": "lifespan.startup"})
        started = await outbox.receive()
        assert started["type"] == "lifespan.startup.complete", started
        yield app
        await to_app.send({"type": "lifespan.shutdown"})
        await outbox.receive()


async def _service_steps(rt: Runtime, token: str) -> list[tuple[str, Step]]:
    verifier = rt.verifier
    chat = rt.chat
    request = parse_chat_request(_BODY)
    state: dict[str, Any] = {}
    state["principal"] = await verifier.verify(token, scope="api")
    state["plan"] = await chat._planner.plan(state["principal"], request, None)

    async def verify_cold(i: int) -> object:
        verifier._cache.clear()  # the step measures what the cache saves
        return await verifier.verify(token, scope="api")

    async def verify_cached(i: int) -> object:
        return await verifier.verify(token, scope="api")

    async def revoked(i: int) -> object:
        return await rt.ledger.is_revoked(state["principal"].revocation_key)

    async def parse(i: int) -> object:
        return parse_chat_request(_BODY)

    async def plan(i: int) -> object:
        return await chat._planner.plan(state["principal"], request, None)

    async def reserve_charge(i: int) -> object:
        principal = state["principal"]
        hold, _ = await chat._planner.reserve(principal, state["plan"], f"bench-{i}")
        record = UsageRecord(
            f"bench-{i}",
            principal.identity,
            "m",
            "bench",
            False,
            TokenCounts(25, 20),
            65,
            1,
            1,
            "ok",
        )
        await rt.spend.settle(hold, 65, record)  # type: ignore[arg-type]
        return hold

    async def upstream_call(i: int) -> object:
        candidate = state["plan"].candidates[0]
        upstream = chat._upstreams[candidate.endpoint.protocol]
        call = UpstreamCall(candidate.endpoint, candidate.offer.provider_model_id, request, 32)
        return await upstream.complete(call)

    async def complete(i: int) -> object:
        return await chat.complete(state["principal"], request, request_id=f"bench-c-{i}")

    return [
        ("verify, cold (signature checked)", verify_cold),
        ("verify, cached", verify_cached),
        ("  of which the revocation lookup", revoked),
        ("parse the request", parse),
        ("plan (route, output limit)", plan),
        ("ledger reserve + charge", reserve_charge),
        ("upstream call (fake, loopback)", upstream_call),
        ("chat service call (plan..charge)", complete),
    ]


async def _run(n: int, rounds: int, ledger_dir: Path | None) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-hotpath-") as tmp:
        home = _home(Path(tmp), ledger_dir)
        settings = load_settings(home)
        uncached = settings.model_copy(
            update={"auth": settings.auth.model_copy(update={"token_cache_size": 0})}
        )
        token = mint_token(Keystore(home), ttl_seconds=3600)
        async with _serving(settings) as app, _serving(uncached) as cold_app:
            rt: Runtime = app.extensions["bitrouter"]
            steps = await _service_steps(rt, token)
            quart = ObserveMiddleware(
                Mounts(app, functools.partial(QuartTrio.asgi_app, app)),
                Metrics(),
                frozenset(),
                log=False,
                max_body=settings.server.max_body_bytes,
            )
            chat = "/v1/chat/completions"
            steps += [
                ("app: POST /v1/chat/completions", _request(app, "POST", chat, token)),
                ("app: the same, token cache off", _request(cold_app, "POST", chat, token)),
                ("app: the same through Quart", _request(quart, "POST", chat, token)),
                ("app: GET /health through Quart", _request(quart, "GET", "/health", token)),
            ]
            for _ in range(rounds):
                for name, step in steps:
                    results.setdefault(name, []).append(await _measure(n, step))
    return results


def main() -> None:
    """Print the CPU of each step."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ledger-dir", type=Path, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    ledger_dir = args.ledger_dir
    if ledger_dir is not None:
        ledger_dir = Path(tempfile.mkdtemp(dir=ledger_dir, prefix="bench-hotpath-"))
    results = trio.run(_run, args.n, args.rounds, ledger_dir)
    if args.json:
        print(json.dumps(results, indent=1))
        return
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    print(f"n={args.n} calls per step, {args.rounds} rounds; load average {load}")
    print(f"{'step':40} {'CPU µs/call median':>19} {'min':>7}")
    for name, values in results.items():
        print(f"{name:40} {statistics.median(values):19.0f} {min(values):7.0f}")


if __name__ == "__main__":
    main()
