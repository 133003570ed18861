"""``POST /v1/chat/completions`` answered before Quart: the same wire behaviour as the route."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
import pytest
import trio

from gateway.http import serve
from gateway.settings import settings_from_mapping

CHAT = {
    "model": "moonshotai:kimi-k2.5",
    "messages": [{"role": "user", "content": "Tell me a long story"}],
    "max_tokens": 200,
}


@pytest.fixture
async def slow_gateway(home: Path, nursery: trio.Nursery) -> AsyncIterator[str]:
    """A gateway with a small body limit and a simulator that streams slowly."""
    settings = settings_from_mapping(
        {"server": {"max_body_bytes": 2048}, "simulator": {"chunk_delay_ms": 200}},
        home,
        environ={},
    )
    start = functools.partial(serve, settings, host="127.0.0.1", port=0, handle_signals=False)
    urls = await nursery.start(start)
    yield urls[0]
    nursery.cancel_scope.cancel()


async def raw(url: str, data: bytes) -> trio.SocketStream:
    host, _, port = url.removeprefix("http://").partition(":")
    stream = await trio.open_tcp_stream(host, int(port))
    await stream.send_all(data)
    return stream


async def read_head(stream: trio.SocketStream) -> tuple[bytes, bytes]:
    received = b""
    while b"\r\n\r\n" not in received:
        data = await stream.receive_some(65536)
        assert data, "the server closed before answering"
        received += data
    head, _, rest = received.partition(b"\r\n\r\n")
    return head, rest


async def test_an_oversized_chunked_body_is_413_and_closes_the_connection(
    slow_gateway: str, token: str
) -> None:
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nhost: t\r\nauthorization: Bearer {token}\r\n"
        "content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
    ).encode()
    piece = b"x" * 1000
    chunk = hex(len(piece))[2:].encode() + b"\r\n" + piece + b"\r\n"
    with trio.fail_after(10):
        stream = await raw(slow_gateway, head + chunk * 3)
        answer, body_start = await read_head(stream)
        rest = body_start
        while data := await stream.receive_some(65536):
            rest += data  # the server closes: the unread rest of the body cannot be reused
    assert answer.startswith(b"HTTP/1.1 413")
    assert b"connection: close" in answer.lower()
    assert orjson.loads(rest)["error"]["code"] == "payload_too_large"
    await stream.aclose()


async def test_stream_headers_match_the_route_and_a_bad_token_is_401(
    slow_gateway: str, token: str
) -> None:
    async with httpx.AsyncClient(base_url=slow_gateway, timeout=10) as client:
        refused = await client.post(
            "/v1/chat/completions", json=CHAT, headers={"authorization": "Bearer nope"}
        )
        async with client.stream(
            "POST",
            "/v1/chat/completions",
            json={**CHAT, "max_tokens": 3, "stream": True},
            headers={"authorization": f"Bearer {token}"},
        ) as streamed:
            text = b"".join([part async for part in streamed.aiter_bytes()])
    assert refused.status_code == 401 and refused.json()["error"]["type"] == "authentication_error"
    assert streamed.headers["content-type"] == "text/event-stream"
    assert streamed.headers["cache-control"] == "no-cache"
    assert streamed.headers["x-accel-buffering"] == "no"
    assert streamed.headers["x-bitrouter-provider"].endswith(" (simulated)")
    assert streamed.headers["x-request-id"]
    assert text.endswith(b"data: [DONE]\n\n")


async def test_a_client_that_leaves_mid_stream_pays_for_what_it_got(
    slow_gateway: str, token: str
) -> None:
    body = orjson.dumps({**CHAT, "stream": True})
    request = (
        f"POST /v1/chat/completions HTTP/1.1\r\nhost: t\r\nauthorization: Bearer {token}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    ).encode() + body
    with trio.fail_after(10):
        stream = await raw(slow_gateway, request)
        head, _ = await read_head(stream)
        await stream.aclose()  # gone after the first event: the rest would take seconds
    assert head.startswith(b"HTTP/1.1 200")
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=slow_gateway, timeout=10, headers=headers) as client:
        with trio.fail_after(10):
            while not (rows := (await client.get("/v1/usage")).json()["data"]):
                pass  # each poll is a real request: the server settles the call meanwhile
        balance = (await client.get("/v1/balance")).json()
    assert rows[0]["outcome"] == "cancelled"
    assert 0 < rows[0]["cost_micro_usd"] == balance["spent_micro_usd"]
    assert balance["reserved_micro_usd"] == 0
