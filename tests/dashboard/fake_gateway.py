"""A stand-in gateway on loopback that serves the dashboard's routes with known figures."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

AGENT = "AgEnTkEy1111111111111111111111111111111111"
WALLET = "So1WaLLeT22222222222222222222222222222222222"
EXPIRES = 4102444800  # 2100-01-01

HEALTH = {"status": "ok", "version": "9.9.9", "mode": "byok", "listen": "127.0.0.1:1", "models": 3}
AUTHORITY = {
    "chain": "solana",
    "agent": AGENT,
    "per_tx_cap": 5_000_000,
    "cumulative_cap": 50_000_000,
    "paid": 1_234_567,
    "remaining": 48_765_433,
    "expires_at": EXPIRES,
    "revoked": False,
}
BALANCE = {
    "identity": f"solana:{WALLET}",
    "spent_micro_usd": 1_234_567,
    "reserved_micro_usd": 250_000,
    "settled_micro_usd": 1_000_000,
    "remaining_micro_usd": None,
    "requests": 3,
    "limits": {},
    "expires_at": None,
    "authority": None,
    "agents": [AUTHORITY],
    "wallets": [
        {"chain": "solana", "address": WALLET, "usdc_micro_usd": 100_000_000},
        {"chain": "tempo", "address": "0x" + "ab" * 20, "usdc_micro_usd": 25_500_000},
    ],
}
USAGE = {
    "object": "list",
    "data": [
        {
            "request_id": f"req_{n}",
            "created_at": 1_767_225_600 + n,
            "kind": "chat",
            "subject": model,
            "provider": provider,
            "prompt_tokens": 1200 + n,
            "completion_tokens": 300,
            "cost_micro_usd": cost,
            "latency_ms": 80,
            "outcome": "ok",
        }
        for n, (model, provider, cost) in enumerate(
            [
                ("anthropic:claude-sonnet-4", "anthropic", 734_567),
                ("openai:gpt-4o-mini", "openai", 300_000),
                ("anthropic:claude-sonnet-4", "anthropic", 200_000),
            ]
        )
    ],
    "has_more": False,
}
SUMMARY = {
    "group_by": "model",
    "data": [
        {
            "key": "openai:gpt-4o-mini",
            "requests": 1,
            "prompt_tokens": 1201,
            "completion_tokens": 300,
            "cost_micro_usd": 300_000,
        },
        {
            "key": "anthropic:claude-sonnet-4",
            "requests": 2,
            "prompt_tokens": 2402,
            "completion_tokens": 600,
            "cost_micro_usd": 934_567,
        },
    ],
    "total_cost_micro_usd": 1_234_567,
}
TRANSACTIONS = {
    "object": "list",
    "data": [
        {
            "chain": "solana",
            "tx_id": "5TxSiGnAtUrE" + "9" * 40,
            "amount_micro_usd": 1_000_000,
            "agent": AGENT,
            "created_at": 1_767_225_700,
            "status": "confirmed",
        }
    ],
}
ROUTES: dict[str, Any] = {
    "/health": HEALTH,
    "/v1/balance": BALANCE,
    "/v1/usage": USAGE,
    "/v1/usage/summary": SUMMARY,
    "/v1/transactions": TRANSACTIONS,
}


@dataclass
class FakeGateway:
    """The server's URL, the requests it saw (path, authorization) and routes to answer 404."""

    url: str
    seen: list[tuple[str, str | None]] = field(default_factory=list)
    missing: set[str] = field(default_factory=set)


@contextmanager
def fake_gateway() -> Iterator[FakeGateway]:
    """Serve the known figures on a free loopback port until the block ends."""
    state = FakeGateway("")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            state.seen.append((self.path, self.headers.get("authorization")))
            body: Any = ROUTES.get(path)
            status = 200
            if body is None or path in state.missing:
                status, body = 404, {"error": {"message": "", "type": "not_found", "code": "x"}}
            elif path != "/health" and not self.headers.get("authorization"):
                status, body = 401, {"error": {"message": "missing token", "type": "auth"}}
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
