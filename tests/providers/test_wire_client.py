"""The gateway's own upstream HTTP/1.1 client against real loopback servers speaking exact bytes."""

from __future__ import annotations

import contextlib
import datetime
import functools
import gzip
import ipaddress
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import trio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateway.openai_wire import parse_chat_request
from gateway.providers import Endpoint, OpenAIUpstream, UpstreamCall, UpstreamFailure
from gateway.providers._openai import openai_headers
from gateway.providers._wire_client import WireError, WirePool, WireTimeout, parse_url

Handler = Callable[[trio.SocketStream, "Server"], Awaitable[None]]
REQUEST = b"POST /v1/x HTTP/1.1\r\nhost: t\r\ncontent-length: 2\r\n\r\n{}"


class Server:
    """A loopback server: counts connections, keeps every request it read."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.port = 0
        self.connections = 0
        self.requests: list[bytes] = []
        self.buffers: dict[int, bytearray] = {}

    async def __call__(self, stream: trio.SocketStream) -> None:
        self.connections += 1
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            await self.handler(stream, self)

    async def read_request(self, stream: trio.abc.Stream) -> bytes | None:
        """The next request's head and body on ``stream`` (None when the client closed)."""
        buffer = self.buffers.setdefault(id(stream), bytearray())
        while b"\r\n\r\n" not in buffer:
            data = await stream.receive_some(65536)
            if not data:
                return None
            buffer += data
        end = buffer.index(b"\r\n\r\n") + 4
        head = bytes(buffer[:end])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        while len(buffer) < end + length:
            buffer += await stream.receive_some(65536)
        request = bytes(buffer[: end + length])
        del buffer[: end + length]
        self.requests.append(request)
        return request

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/x"


async def start(nursery: trio.Nursery, handler: Handler) -> Server:
    server = Server(handler)
    listeners = await nursery.start(functools.partial(trio.serve_tcp, server, 0, host="127.0.0.1"))
    server.port = listeners[0].socket.getsockname()[1]
    return server


def answer(body: bytes, *extra: bytes, status: bytes = b"200 OK") -> bytes:
    head = b"HTTP/1.1 " + status + b"\r\ncontent-length: " + str(len(body)).encode()
    return b"\r\n".join([head, *extra]) + b"\r\n\r\n" + body


async def keep_answering(response: bytes) -> Handler:
    async def handle(stream: trio.SocketStream, server: Server) -> None:
        while await server.read_request(stream) is not None:
            await stream.send_all(response)

    return handle


async def fetch(pool: WirePool, server: Server, **timeouts: Any) -> tuple[int, bytes]:
    origin, _, _ = parse_url(server.url)
    reply = await pool.request(origin, REQUEST, connect_timeout=5, **timeouts)
    try:
        return reply.status, await reply.read()
    finally:
        await reply.aclose()


async def test_content_length_bodies_reuse_one_connection(nursery: trio.Nursery) -> None:
    server = await start(nursery, await keep_answering(answer(b'{"ok":1}')))
    async with WirePool() as pool:
        for _ in range(3):
            assert await fetch(pool, server) == (200, b'{"ok":1}')
    assert server.connections == 1
    assert len(server.requests) == 3 and server.requests[0] == REQUEST


async def test_chunked_body_arriving_byte_by_byte(nursery: trio.Nursery) -> None:
    wire = (
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nx-trailer: t\r\n\r\n"
    )

    async def handle(stream: trio.SocketStream, server: Server) -> None:
        while await server.read_request(stream) is not None:
            for i in range(len(wire)):
                await stream.send_all(wire[i : i + 1])

    server = await start(nursery, handle)
    async with WirePool() as pool:
        assert await fetch(pool, server) == (200, b"hello 0123456789")
        assert await fetch(pool, server) == (200, b"hello 0123456789")
    assert server.connections == 1


async def test_a_body_that_ends_with_the_connection_is_read_and_not_reused(
    nursery: trio.Nursery,
) -> None:
    async def handle(stream: trio.SocketStream, server: Server) -> None:
        await server.read_request(stream)
        await stream.send_all(b"HTTP/1.1 200 OK\r\n\r\nuntil the end")
        await stream.aclose()

    server = await start(nursery, handle)
    async with WirePool() as pool:
        assert await fetch(pool, server) == (200, b"until the end")
        assert await fetch(pool, server) == (200, b"until the end")
    assert server.connections == 2


@pytest.mark.parametrize(
    "response",
    [
        answer(b"{}", b"connection: close"),
        b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\n{}",
    ],
)
async def test_connection_close_and_http10_are_not_reused(
    nursery: trio.Nursery, response: bytes
) -> None:
    server = await start(nursery, await keep_answering(response))
    async with WirePool() as pool:
        await fetch(pool, server)
        await fetch(pool, server)
    assert server.connections == 2


async def test_a_connection_the_server_closed_while_idle_is_not_reused(
    nursery: trio.Nursery,
) -> None:
    dropped = trio.Event()

    async def handle(stream: trio.SocketStream, server: Server) -> None:
        await server.read_request(stream)
        await stream.send_all(answer(b"{}"))
        await stream.aclose()  # keep-alive answered, then the server drops it anyway
        dropped.set()

    server = await start(nursery, handle)
    async with WirePool() as pool:
        await fetch(pool, server)
        await dropped.wait()
        assert await fetch(pool, server) == (200, b"{}")
    assert server.connections == 2


async def test_idle_connections_expire(nursery: trio.Nursery) -> None:
    now = [0.0]
    server = await start(nursery, await keep_answering(answer(b"{}")))
    async with WirePool(keepalive_expiry=60, clock=lambda: now[0]) as pool:
        await fetch(pool, server)
        now[0] = 30
        await fetch(pool, server)
        assert server.connections == 1
        now[0] = 91
        await fetch(pool, server)
    assert server.connections == 2


async def test_interim_responses_are_skipped_and_gzip_is_decoded(nursery: trio.Nursery) -> None:
    packed = gzip.compress(b'{"packed":true}')
    response = b"HTTP/1.1 100 Continue\r\n\r\n" + answer(packed, b"content-encoding: gzip")
    server = await start(nursery, await keep_answering(response))
    async with WirePool() as pool:
        assert await fetch(pool, server) == (200, b'{"packed":true}')


@pytest.mark.parametrize(
    "response",
    [
        b"NOT HTTP AT ALL\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}",
    ],
)
async def test_broken_answers_are_wire_errors(nursery: trio.Nursery, response: bytes) -> None:
    async def handle(stream: trio.SocketStream, server: Server) -> None:
        await server.read_request(stream)
        await stream.send_all(response)
        await stream.aclose()

    server = await start(nursery, handle)
    async with WirePool() as pool:
        with pytest.raises(WireError):
            await fetch(pool, server)


async def test_read_timeout_while_waiting_for_the_body(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    async def handle(stream: trio.SocketStream, server: Server) -> None:
        await server.read_request(stream)
        await stream.send_all(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhalf")
        await trio.sleep_forever()

    server = await start(nursery, handle)
    async with WirePool() as pool:
        with pytest.raises(WireTimeout):
            await fetch(pool, server, read_timeout=5)


async def test_the_pool_bounds_open_connections(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    server = await start(nursery, await keep_answering(answer(b"{}")))
    origin, _, _ = parse_url(server.url)
    async with WirePool(max_connections=1) as pool:
        held = await pool.request(origin, REQUEST, connect_timeout=5)
        with pytest.raises(WireTimeout):
            await pool.request(origin, REQUEST, connect_timeout=2)
        await held.read()
        await held.aclose()
        assert await fetch(pool, server) == (200, b"{}")


async def test_refused_connection_is_a_connect_error() -> None:
    with trio.socket.socket() as sock:
        await sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: refused
        origin, _, _ = parse_url(f"http://127.0.0.1:{port}/")
        async with WirePool() as pool:
            with pytest.raises(WireError) as caught:
                await pool.request(origin, REQUEST, connect_timeout=5)
    assert type(caught.value).__name__ == "ConnectError"


def test_urls_give_origin_target_and_host_header() -> None:
    origin, target, host = parse_url("https://API.example.com/v1beta/models/m:stream?alt=sse")
    assert (origin.scheme, origin.host, origin.port) == ("https", "api.example.com", 443)
    assert target == b"/v1beta/models/m:stream?alt=sse" and host == b"api.example.com"
    origin, target, host = parse_url("http://[::1]:8080/a b")
    assert origin.port == 8080 and host == b"[::1]:8080" and target == b"/a%20b"
    for bad in ("ftp://x/", "http:///nohost", "http://user:pw@host/"):
        with pytest.raises(ValueError):
            parse_url(bad)


# --- through the OpenAI upstream ------------------------------------------------------------


def call_to(url: str, body: dict[str, Any], **endpoint: Any) -> UpstreamCall:
    base = url.removesuffix("/x")
    point = Endpoint("acme", "openai", base, openai_headers("sk-test-key-123456"), **endpoint)
    request = parse_chat_request(
        {"model": "acme/chat-1", "messages": [{"role": "user", "content": "hi"}], **body}
    )
    return UpstreamCall(point, "chat-1", request, 16, "req_wire")


COMPLETION = {
    "id": "c1",
    "object": "chat.completion",
    "created": 1,
    "model": "chat-1",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "hey"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}


async def test_completion_over_the_wire_sends_the_prepared_request(nursery: trio.Nursery) -> None:
    server = await start(nursery, await keep_answering(answer(orjson.dumps(COMPLETION))))
    async with WirePool() as pool:
        upstream = OpenAIUpstream(pool)
        done = await upstream.complete(call_to(server.url, {}))
        await upstream.complete(call_to(server.url, {}))
    assert done.body["choices"][0]["message"]["content"] == "hey"
    assert done.usage is not None and done.usage.prompt == 3
    head, _, body = server.requests[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /v1/chat/completions HTTP/1.1"
    assert f"host: 127.0.0.1:{server.port}".encode() in lines
    assert b"authorization: Bearer sk-test-key-123456" in lines
    assert f"content-length: {len(body)}".encode() in lines
    assert orjson.loads(body)["model"] == "chat-1" and orjson.loads(body)["max_tokens"] == 16
    assert server.connections == 1


def sse_chunks(texts: list[str]) -> bytes:
    out = b""
    for i, text in enumerate(texts):
        chunk = {
            "id": "s",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [
                {
                    "index": 0,
                    "delta": {"content": text},
                    "finish_reason": "stop" if i == len(texts) - 1 else None,
                }
            ],
        }
        event = b"data: " + orjson.dumps(chunk) + b"\n\n"
        out += hex(len(event))[2:].encode() + b"\r\n" + event + b"\r\n"
    usage = b'data: {"id":"s","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}\n\n'
    done = b"data: [DONE]\n\n"
    for event in (usage, done):
        out += hex(len(event))[2:].encode() + b"\r\n" + event + b"\r\n"
    return (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
        + out
        + b"0\r\n\r\n"
    )


async def test_stream_over_the_wire_returns_its_connection_after_done(
    nursery: trio.Nursery,
) -> None:
    server = await start(nursery, await keep_answering(sse_chunks(["a", "b"])))
    async with WirePool() as pool:
        upstream = OpenAIUpstream(pool)
        for _ in range(2):
            stream = await upstream.open_stream(call_to(server.url, {"stream": True}))
            texts = [c["choices"][0]["delta"]["content"] async for c in stream]
            await stream.aclose()
            assert texts == ["a", "b"]
            assert stream.usage is not None and stream.usage.completion == 2
    assert server.connections == 1


async def test_a_stream_closed_early_drops_its_connection(nursery: trio.Nursery) -> None:
    async def handle(stream: trio.SocketStream, server: Server) -> None:
        while await server.read_request(stream) is not None:
            await stream.send_all(sse_chunks(["a", "b"])[:-40])  # the end never comes

    server = await start(nursery, handle)
    async with WirePool() as pool:
        upstream = OpenAIUpstream(pool)
        stream = await upstream.open_stream(call_to(server.url, {"stream": True}))
        assert (await stream.__anext__())["choices"][0]["delta"]["content"] == "a"
        await stream.aclose()
        stream = await upstream.open_stream(call_to(server.url, {"stream": True}))
        await stream.aclose()
    assert server.connections == 2


async def test_a_stalled_stream_fails_midstream_after_the_read_timeout(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    async def handle(stream: trio.SocketStream, server: Server) -> None:
        await server.read_request(stream)
        wire = sse_chunks(["a", "b"])
        first = wire.index(b"\r\n", wire.index(b'"a"')) + 2  # the head and the first chunk
        await stream.send_all(wire[:first])
        await trio.sleep_forever()

    server = await start(nursery, handle)
    async with WirePool() as pool:
        upstream = OpenAIUpstream(pool)
        stream = await upstream.open_stream(call_to(server.url, {"stream": True}, timeout=7.0))
        with pytest.raises(UpstreamFailure) as caught:
            async for _ in stream:
                pass
        await stream.aclose()
    assert caught.value.kind == "midstream"
    assert caught.value.message == "acme did not answer within 7s"


async def test_no_answer_is_a_timeout_and_refusal_a_network_failure(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    async def silent(stream: trio.SocketStream, server: Server) -> None:
        await trio.sleep_forever()

    server = await start(nursery, silent)
    async with WirePool() as pool:
        upstream = OpenAIUpstream(pool)
        with pytest.raises(UpstreamFailure) as slow:
            await upstream.complete(call_to(server.url, {}, timeout=3.0))
        with trio.socket.socket() as sock:
            await sock.bind(("127.0.0.1", 0))
            closed = f"http://127.0.0.1:{sock.getsockname()[1]}/v1/x"
            with pytest.raises(UpstreamFailure) as refused:
                await upstream.complete(call_to(closed, {}))
    assert (slow.value.kind, slow.value.message) == ("timeout", "acme did not answer within 3s")
    assert refused.value.kind == "network" and refused.value.retryable
    assert refused.value.message == "connection to acme failed (ConnectError)"


async def test_error_statuses_keep_their_meaning_over_the_wire(nursery: trio.Nursery) -> None:
    body = orjson.dumps({"error": {"message": "bad field temperature"}})
    server = await start(nursery, await keep_answering(answer(body, status=b"400 Bad Request")))
    async with WirePool() as pool:
        with pytest.raises(UpstreamFailure) as caught:
            await OpenAIUpstream(pool).complete(call_to(server.url, {}))
    assert caught.value.upstream_status == 400 and not caught.value.retryable
    assert caught.value.message == "acme answered HTTP 400: bad field temperature"


async def test_a_header_that_would_split_the_request_is_refused() -> None:
    point = Endpoint("acme", "openai", "http://127.0.0.1:9/v1", {"x-bad": "a\r\nx-evil: 1"})
    request = parse_chat_request({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    async with WirePool() as pool:
        with pytest.raises(UpstreamFailure) as caught:
            await OpenAIUpstream(pool).complete(UpstreamCall(point, "m", request, None))
    assert caught.value.kind == "network"


# --- TLS and the httpx transport interface --------------------------------------------------


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


async def test_https_checks_the_certificate(nursery: trio.Nursery, tmp_path: Path) -> None:
    cert_file, key_file = self_signed(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_file, key_file)
    plain = await keep_answering(answer(b'{"tls":1}'))

    async def handle(stream: trio.SocketStream, server: Server) -> None:
        tls = trio.SSLStream(stream, server_context, server_side=True)
        try:
            await tls.do_handshake()
        except trio.BrokenResourceError:
            return  # the client refused the certificate
        await plain(tls, server)  # type: ignore[arg-type]

    server = await start(nursery, handle)
    origin, _, _ = parse_url(f"https://localhost:{server.port}/v1/x")
    trusting = ssl.create_default_context(cafile=str(cert_file))
    async with WirePool(ssl_context=trusting) as pool:
        reply = await pool.request(origin, REQUEST, connect_timeout=5)
        assert (reply.status, await reply.read()) == (200, b'{"tls":1}')
        await reply.aclose()
    async with WirePool() as pool:  # certifi's CAs: the self-signed certificate is refused
        with pytest.raises(WireError):
            await pool.request(origin, REQUEST, connect_timeout=5)


async def test_it_serves_as_an_httpx_transport(nursery: trio.Nursery) -> None:
    server = await start(nursery, await keep_answering(answer(b'{"via":"httpx"}')))
    async with WirePool() as pool, httpx.AsyncClient(transport=pool) as client:
        response = await client.post(server.url, json={"a": 1})
        assert response.status_code == 200 and response.json() == {"via": "httpx"}
        async with client.stream("POST", server.url, content=b"{}") as streamed:
            assert b"".join([part async for part in streamed.aiter_bytes()]) == b'{"via":"httpx"}'
        with trio.socket.socket() as sock:
            await sock.bind(("127.0.0.1", 0))
            with pytest.raises(httpx.ConnectError):
                await client.get(f"http://127.0.0.1:{sock.getsockname()[1]}/")
    assert server.requests[0].endswith(b'{"a":1}') and server.connections == 1
