"""The HTTP/1.1 front: what it takes itself, and that a connection handed to hypercorn goes on
exactly where the front left it (the real server, raw sockets, responses parsed by h11)."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import h11
import orjson
import pytest
import trio

from gateway.http import serve
from gateway.http._front import parse_head
from gateway.settings import settings_from_mapping

CHAT = {
    "model": "moonshotai:kimi-k2.5",
    "messages": [{"role": "user", "content": "Hello front"}],
    "max_tokens": 20,
}
PLAIN = (
    b"POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
    b"Content-Length: 12"
)


@pytest.mark.parametrize(
    "head",
    [
        b"GET /v1/chat/completions HTTP/1.1\r\nhost: gw\r\ncontent-length: 1",
        b"POST /v1/models HTTP/1.1\r\nhost: gw\r\ncontent-length: 1",
        b"POST /v1/chat/completions?x=1 HTTP/1.1\r\nhost: gw\r\ncontent-length: 1",
        b"POST /v1/chat/completions HTTP/1.0\r\nhost: gw\r\ncontent-length: 1",
        b"POST  /v1/chat/completions HTTP/1.1\r\nhost: gw\r\ncontent-length: 1",
        PLAIN.replace(b"Content-Length: 12", b"Transfer-Encoding: chunked"),
        PLAIN + b"\r\nExpect: 100-continue",
        PLAIN + b"\r\nUpgrade: websocket",
        PLAIN + b"\r\nContent-Length: 12",
        PLAIN.replace(b"12", b"+12"),
        PLAIN.replace(b"12", b"1" * 13),
        PLAIN.replace(b"Host: gw\r\n", b""),
        PLAIN.replace(b"Content-Length: 12", b"Accept: x"),
        PLAIN + b"\r\nBad Name: x",
        PLAIN + b"\r\n folded continuation",
        PLAIN + b"\r\nX-Thing: a\x00b",
        PLAIN + b"\r\nX-Thing: a\nb",
    ],
)
def test_anything_but_a_plain_chat_post_is_left_to_hypercorn(head: bytes) -> None:
    assert parse_head(head) is None


def test_a_plain_chat_post_is_taken_with_lowercased_headers() -> None:
    request = parse_head(PLAIN + b"\r\nConnection: keep-alive, Close\r\nX-Empty:")
    assert request is not None
    assert request.length == 12 and request.close
    assert (b"content-type", b"application/json") in request.headers
    assert (b"x-empty", b"") in request.headers


@pytest.fixture
async def gateway(home: Path, nursery: trio.Nursery) -> AsyncIterator[str]:
    """A gateway on its defaults (the simulator serves the models)."""
    settings = settings_from_mapping({"server": {"max_body_bytes": 4096}}, home, environ={})
    start = functools.partial(serve, settings, host="127.0.0.1", port=0, handle_signals=False)
    urls = await nursery.start(start)
    yield urls[0]
    nursery.cancel_scope.cancel()


def chat_request(token: str, body: dict[str, Any], *extra: str) -> bytes:
    data = orjson.dumps(body)
    head = [
        "POST /v1/chat/completions HTTP/1.1",
        "host: gw",
        f"authorization: Bearer {token}",
        "content-type: application/json",
        f"content-length: {len(data)}",
        *extra,
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + data


class Client:
    """A raw connection whose responses are parsed by h11."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.h11 = h11.Connection(h11.CLIENT)

    @classmethod
    async def open(cls, url: str) -> Client:
        host, _, port = url.removeprefix("http://").partition(":")
        return cls(await trio.open_tcp_stream(host, int(port)))

    async def response(self, method: bytes = b"POST") -> tuple[h11.Response, bytes]:
        """The next response (its head and whole body)."""
        # The h11 client must believe it sent the request whose answer comes next.
        self.h11.send(h11.Request(method=method, target="/", headers=[("host", "gw")]))
        self.h11.send(h11.EndOfMessage())
        head: h11.Response | None = None
        body = b""
        while True:
            event = self.h11.next_event()
            if event is h11.NEED_DATA:
                self.h11.receive_data(await self.stream.receive_some(65536))
            elif isinstance(event, h11.Response):
                head = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                assert head is not None
                if self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE:
                    self.h11.start_next_cycle()
                return head, body
            else:
                raise AssertionError(f"unexpected {event!r}")

    async def closed(self) -> bool:
        """Whether the server closes the connection (after any unread bytes)."""
        with trio.fail_after(10):
            return await self.stream.receive_some(65536) == b""


def header(response: h11.Response, name: bytes) -> bytes | None:
    return dict(response.headers).get(name)


async def test_pipelined_calls_are_answered_in_order_on_one_connection(
    gateway: str, token: str
) -> None:
    client = await Client.open(gateway)
    first = chat_request(token, CHAT, "x-request-id: first")
    second = chat_request(token, {**CHAT, "max_tokens": 5}, "x-request-id: second")
    with trio.fail_after(30):
        await client.stream.send_all(first + second)
        answers = [await client.response(), await client.response()]
    for (head, body), rid in zip(answers, (b"first", b"second"), strict=True):
        assert head.status_code == 200
        assert header(head, b"x-request-id") == rid
        assert header(head, b"content-length") == str(len(body)).encode()
        assert header(head, b"date") is not None
        assert orjson.loads(body)["usage"]["cost_micro_usd"] > 0
    await client.stream.aclose()


async def test_a_body_that_arrives_in_pieces_is_read_whole(gateway: str, token: str) -> None:
    client = await Client.open(gateway)
    request = chat_request(token, CHAT)
    with trio.fail_after(30):
        for cut in range(0, len(request), 40):
            await client.stream.send_all(request[cut : cut + 40])
            await trio.sleep(0.01)
        head, body = await client.response()
    assert head.status_code == 200, body
    await client.stream.aclose()


async def test_a_stream_is_chunked_and_the_connection_is_reused_by_hypercorn(
    gateway: str, token: str
) -> None:
    client = await Client.open(gateway)
    streamed = chat_request(token, {**CHAT, "stream": True})
    health = b"GET /health HTTP/1.1\r\nhost: gw\r\n\r\n"
    with trio.fail_after(30):
        await client.stream.send_all(streamed)
        head, body = await client.response()
        assert header(head, b"transfer-encoding") == b"chunked"
        assert body.endswith(b"data: [DONE]\n\n")
        # The next request is not the front's: the connection goes on in hypercorn.
        await client.stream.send_all(health)
        checked, status = await client.response(b"GET")
        await client.stream.send_all(chat_request(token, CHAT))
        again, _ = await client.response()
    assert head.status_code == 200 and checked.status_code == 200 and again.status_code == 200
    assert orjson.loads(status)["status"] == "ok"
    await client.stream.aclose()


async def test_connection_close_is_honoured(gateway: str, token: str) -> None:
    client = await Client.open(gateway)
    with trio.fail_after(30):
        await client.stream.send_all(chat_request(token, CHAT, "connection: close"))
        head, _ = await client.response()
        assert head.status_code == 200
        assert await client.closed()
    await client.stream.aclose()


async def test_a_refusal_before_the_body_is_read_closes_the_connection(
    gateway: str, token: str
) -> None:
    client = await Client.open(gateway)
    request = chat_request(token, CHAT).replace(token.encode(), b"not-a-token")
    with trio.fail_after(30):
        await client.stream.send_all(request[:-5])  # the body never completes
        head, body = await client.response()
        assert await client.closed()
    await client.stream.aclose()
    assert head.status_code == 401
    assert header(head, b"connection") == b"close"
    assert orjson.loads(body)["error"]["type"] == "authentication_error"


async def test_a_malformed_request_gets_hypercorns_answer(gateway: str) -> None:
    client = await Client.open(gateway)
    with trio.fail_after(30):
        await client.stream.send_all(
            b"POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\nbad header\r\n\r\n"
        )
        received = b""
        while data := await client.stream.receive_some(65536):
            received += data
    await client.stream.aclose()
    assert received.startswith(b"HTTP/1.1 400")


async def test_an_oversized_declared_body_is_413(gateway: str, token: str) -> None:
    client = await Client.open(gateway)
    big = {**CHAT, "messages": [{"role": "user", "content": "x" * 5000}]}
    with trio.fail_after(30):
        await client.stream.send_all(chat_request(token, big))
        head, body = await client.response()
    assert head.status_code == 413
    assert orjson.loads(body)["error"]["code"] == "payload_too_large"
    await client.stream.aclose()
