from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from gateway.cli import _quote, _route
from gateway.errors import GatewayError, NotFound
from gateway.tokenizer import count_prompt_tokens

Run = Callable[..., Result]


@pytest.fixture
def cli(home: Path) -> Run:
    """``cli("route", "m")`` runs the command in-process against the test's home."""
    app = typer.Typer(pretty_exceptions_enable=False)
    _route.register(app)
    _quote.register(app)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args), env={"BITROUTER_HOME": str(home)})


class FakeGateway:
    """A loopback HTTP server answering /v1/route and /v1/quotes, remembering requests."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                gateway.seen.append({"path": self.path, "auth": self.headers.get("authorization")})
                if self.path.startswith("/v1/route?model=nope"):
                    self._answer(
                        404,
                        {
                            "error": {
                                "message": "unknown model 'nope'",
                                "type": "not_found_error",
                                "code": "x",
                            }
                        },
                    )
                    return
                self._answer(200, ROUTE)

            def do_POST(self) -> None:
                length = int(self.headers["content-length"])
                gateway.seen.append(
                    {
                        "path": self.path,
                        "auth": self.headers.get("authorization"),
                        "body": json.loads(self.rfile.read(length)),
                    }
                )
                self._answer(200, QUOTE)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


ROUTE = {
    "object": "route",
    "model": "acme/chat-1",
    "requested": "acme/chat-1",
    "chosen": "cheap",
    "simulated": False,
    "policy": {},
    "prompt_tokens_estimate": 0,
    "expected_output_tokens": 500,
    "candidates": [
        {
            "rank": 1,
            "provider": "cheap",
            "prices_micro_usd_per_mtok": {"input": 1_000_000, "output": 4_000_000},
            "expected_cost_micro_usd": 2000,
            "health": {"breaker": "closed", "ttft_ms": 120.0},
        }
    ],
    "excluded": [{"provider": "nokey", "code": "no_credentials", "reason": "no credentials"}],
}
QUOTE = {
    "id": "q_abc",
    "object": "quote",
    "model": "acme/chat-1",
    "provider": "cheap",
    "prices_micro_usd_per_mtok": {"input": 1_000_000, "output": 4_000_000},
    "input_tokens": 12,
    "max_output_tokens": 100,
    "max_cost_micro_usd": 412,
    "estimated_cost_micro_usd": 212,
    "tokenizer": "tiktoken cl100k_base (exact)",
    "expires_at": 1_900_000_000,
}


@pytest.fixture
def gateway() -> Iterator[FakeGateway]:
    fake = FakeGateway()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()
    thread.join()


@pytest.mark.req("CLI-ROUTE")
def test_route_asks_the_running_gateway_with_the_saved_token(
    cli: Run, home: Path, gateway: FakeGateway
) -> None:
    (home / "tokens").mkdir()
    (home / "tokens" / "default.jwt").write_text("tok.en.value\n")
    result = cli("route", "acme:chat-1", "--url", gateway.url)
    assert result.exit_code == 0, result.output
    assert gateway.seen[0] == {
        "path": "/v1/route?model=acme%3Achat-1",
        "auth": "Bearer tok.en.value",
    }
    lines = result.output.splitlines()
    assert lines[0] == "acme/chat-1 → cheap"
    assert "cheap" in lines[2] and "2,000" in lines[2] and "120 ms" in lines[2]
    assert "nokey: no credentials" in result.output
    as_json = cli("route", "acme:chat-1", "--url", gateway.url, "--json")
    assert json.loads(as_json.output) == ROUTE


@pytest.mark.req("CLI-ROUTE")
def test_gateway_errors_are_one_line(cli: Run, gateway: FakeGateway) -> None:
    result = cli("route", "nope", "--url", gateway.url)
    assert isinstance(result.exception, GatewayError)
    assert result.exception.message == "HTTP 404: unknown model 'nope'"
    unreachable = cli("route", "x", "--url", "http://127.0.0.1:9")
    assert isinstance(unreachable.exception, GatewayError)
    assert "cannot reach the gateway at http://127.0.0.1:9" in unreachable.exception.message


@pytest.mark.req("CLI-ROUTE")
def test_quote_posts_a_chat_body_and_prints_the_price(cli: Run, gateway: FakeGateway) -> None:
    result = cli(
        "quote", "acme/chat-1", "--prompt", "hello", "--max-tokens", "100", "--url", gateway.url
    )
    assert result.exit_code == 0, result.output
    assert gateway.seen[0]["body"] == {
        "model": "acme/chat-1",
        "messages": [{"role": "user", "content": "hello"}],
        "max_tokens": 100,
    }
    assert "quote q_abc: acme/chat-1 on cheap" in result.output
    assert "max cost 412 µUSD (0.000412 USD)" in result.output


@pytest.mark.req("CLI-ROUTE")
def test_offline_route_explains_from_the_local_catalog(cli: Run) -> None:
    result = cli("route", "moonshotai:kimi-k2.5", "--offline", "--json")
    assert result.exit_code == 0, result.output
    decision = json.loads(result.output)
    assert decision["offline"] is True and decision["model"] == "moonshotai/kimi-k2.5"
    # No keys in the test home: every provider would be served by the simulator.
    assert decision["chosen"].endswith("(simulated)")
    assert len(decision["candidates"]) >= 2
    missing = cli("route", "acme/none", "--offline")
    assert isinstance(missing.exception, NotFound)


@pytest.mark.req("CLI-ROUTE")
def test_offline_quote_counts_the_prompt_with_the_tokenizer(cli: Run) -> None:
    result = cli(
        "quote",
        "anthropic:claude-sonnet-4",
        "--prompt",
        "Count the moons of Mars.",
        "--max-tokens",
        "50",
        "--offline",
        "--json",
    )
    assert result.exit_code == 0, result.output
    quote = json.loads(result.output)
    messages = [{"role": "user", "content": "Count the moons of Mars."}]
    family = "anthropic" if quote["provider_id"] == "anthropic" else "openai"
    assert quote["input_tokens"] == count_prompt_tokens(messages, family)
    assert quote["max_output_tokens"] == 50 and quote["offline"] is True
