"""Per-chunk CPU of a streamed chat completion, for streams of different lengths.

    python scripts/bench_stream.py [--chunks 10,100,1000] [-n 100] [--ledger-dir /dev/shm]

A small OpenAI-compatible upstream runs in a separate process (so its CPU is not counted) and
streams as many chunks as the request's ``bench_chunks`` field asks for (unknown fields pass
through to OpenAI-compatible upstreams), all at once. The gateway's app runs in this process
on the real runtime (token check, routing, reservation, metering, charge) and is called in
memory (no server), so the CPU measured is the gateway's own: per request, and per chunk as
the slope between stream lengths. A per-chunk cost that does not grow with the stream's length
shows as equal slopes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trio
import yaml


class _Upstream(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        chunks = int(body.get("bench_chunks", 10))
        out = bytearray()
        for i in range(chunks):
            last = i == chunks - 1
            chunk = {
                "id": "chatcmpl-bench",
                "object": "chat.completion.chunk",
                "created": 1700000000,
                "model": "fake-model",
                "choices": [
                    {
                        "index": 0,
                        "delta": {"content": "tok "},
                        "finish_reason": "stop" if last else None,
                    }
                ],
            }
            event = b"data: " + json.dumps(chunk).encode() + b"\n\n"
            out += b"%x\r\n%s\r\n" % (len(event), event)
        usage = {"prompt_tokens": 25, "completion_tokens": chunks, "total_tokens": 25 + chunks}
        for event in (
            b"data: "
            + json.dumps({"id": "chatcmpl-bench", "choices": [], "usage": usage}).encode(),
            b"data: [DONE]",
        ):
            event += b"\n\n"
            out += b"%x\r\n%s\r\n" % (len(event), event)
        out += b"0\r\n\r\n"
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        self.wfile.write(out)


def _serve_upstream(port: int) -> None:
    ThreadingHTTPServer(("127.0.0.1", port), _Upstream).serve_forever()


class _Exchange:
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.sent = False
        self.chunks = 0
        self.status = 0

    async def receive(self) -> dict[str, Any]:
        if not self.sent:
            self.sent = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message.get("body"):
            self.chunks += message["body"].count(b"data: ")


async def _run(
    port: int, lengths: list[int], n: int, ledger_dir: Path | None
) -> list[dict[str, float]]:
    # Imported here: the upstream process (this same file) starts without the gateway.
    from gateway.http._app import create_app
    from gateway.identity import Keystore, mint_token
    from gateway.settings import load_settings

    tmp = Path(tempfile.mkdtemp(prefix="bench-stream-"))
    home = tmp / "home"
    home.mkdir()
    config: dict[str, Any] = {
        "server": {"access_log": False},
        "simulator": {"mode": "off"},
        "providers": {
            "bench": {
                "protocol": "openai",
                "api_base": f"http://127.0.0.1:{port}/v1",
                "api_key": "sk-bench-not-a-secret",
                "models": {"fake-model": {"input_price": 1.0, "output_price": 2.0}},
            }
        },
    }
    if ledger_dir is not None:
        ledger = Path(tempfile.mkdtemp(dir=ledger_dir, prefix="bench-stream-")) / "ledger.db"
        config["database"] = {"url": f"sqlite:///{ledger}"}
    (home / "bitrouter.yaml").write_text(yaml.safe_dump(config))
    keystore = Keystore(home)
    keystore.generate_master()
    token = mint_token(keystore, ttl_seconds=3600)
    app: Any = create_app(load_settings(home))  # called as a plain ASGI callable
    to_app, app_inbox = trio.open_memory_channel[dict[str, Any]](1)
    from_app, app_outbox = trio.open_memory_channel[dict[str, Any]](1)

    async def lifespan_send(message: Any) -> None:
        await from_app.send(dict(message))

    results = []
    async with trio.open_nursery() as nursery:
        lifespan = {"type": "lifespan", "asgi": {"version": "3.0"}}
        nursery.start_soon(app, lifespan, app_inbox.receive, lifespan_send)
        await to_app.send({"type": "lifespan.startup"})
        await app_outbox.receive()
        for chunks in lengths:
            body = json.dumps(
                {
                    "model": "fake-model",
                    "messages": [{"role": "user", "content": "stream please"}],
                    "max_tokens": 100_000,
                    "stream": True,
                    "bench_chunks": chunks,
                }
            ).encode()
            scope = {
                "type": "http",
                "asgi": {"version": "3.0"},
                "http_version": "1.1",
                "method": "POST",
                "scheme": "http",
                "path": "/v1/chat/completions",
                "raw_path": b"/v1/chat/completions",
                "query_string": b"",
                "root_path": "",
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"authorization", f"Bearer {token}".encode()),
                ],
                "client": ("127.0.0.1", 1),
                "server": ("127.0.0.1", 2),
            }
            for _ in range(5):
                warm = _Exchange(body)
                await app(dict(scope), warm.receive, warm.send)
            cpu0 = time.process_time()
            seen = 0
            for _ in range(n):
                exchange = _Exchange(body)
                await app(dict(scope), exchange.receive, exchange.send)
                assert exchange.status == 200, exchange.status
                seen = exchange.chunks
            cpu = (time.process_time() - cpu0) / n
            results.append({"chunks": chunks, "events": seen, "cpu_us": cpu * 1e6})
        await to_app.send({"type": "lifespan.shutdown"})
        await app_outbox.receive()
    return results


def main() -> None:
    """Run the upstream, measure each stream length, print the table."""
    if sys.argv[1:2] == ["--upstream"]:
        _serve_upstream(int(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", default="10,100,1000")
    parser.add_argument("-n", type=int, default=100)
    parser.add_argument("--port", type=int, default=18099)
    parser.add_argument("--ledger-dir", type=Path, default=None)
    args = parser.parse_args()
    lengths = [int(x) for x in args.chunks.split(",")]
    upstream = subprocess.Popen([sys.executable, __file__, "--upstream", str(args.port)])
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{args.port}/", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        results = trio.run(_run, args.port, lengths, args.n, args.ledger_dir)
    finally:
        upstream.terminate()
        upstream.wait()
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    print(f"n={args.n} streams per length; load average {load}")
    print(f"{'chunks':>7} {'events out':>10} {'CPU µs/stream':>14} {'µs/chunk vs previous':>21}")
    previous: dict[str, float] | None = None
    for r in results:
        slope = ""
        if previous is not None:
            slope = f"{(r['cpu_us'] - previous['cpu_us']) / (r['chunks'] - previous['chunks']):.1f}"
        print(f"{r['chunks']:>7} {r['events']:>10} {r['cpu_us']:>14.0f} {slope:>21}")
        previous = r


if __name__ == "__main__":
    main()
