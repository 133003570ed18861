"""The background server's machinery, with a tiny stand-in server (the real one: tests/cli)."""

from __future__ import annotations

import os
import socket
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from gateway.errors import GatewayError
from gateway.setup import ServerProcess

# Answers GET /health like the gateway, on the port in argv[1], until SIGTERM.
STAND_IN = """
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"status": "ok", "mode": "byok"}).encode()
        self.send_response(200); self.send_header("content-length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): print("request", file=sys.stderr, flush=True)
print("stand-in gateway.cli listening", file=sys.stderr, flush=True)
HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def gone(pid: int) -> bool:
    """The process ended (an ended one may linger as a zombie until init reaps it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


@pytest.fixture
def foreign_server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'{"status": "ok"}'
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.req("DAEMON-START", "DAEMON-STOP")
def test_starts_detached_with_pid_file_and_log_then_stops(home: Path) -> None:
    port = free_port()
    # "gateway.cli" in the command line: the pid check only trusts gateway processes.
    command = [sys.executable, "-c", STAND_IN, str(port), "gateway.cli"]
    server = ServerProcess(home, f"http://127.0.0.1:{port}", command=command)
    status = server.start(timeout=30)
    try:
        assert (
            status.running
            and status.healthy
            and status.health
            == {
                "status": "ok",
                "mode": "byok",
            }
        )
        assert status.pid is not None
        assert (home / "bitrouter.pid").read_text().strip() == str(status.pid)
        assert parent_of(status.pid) != os.getpid()  # re-parented: nobody here must reap it
        assert "stand-in gateway.cli listening" in (home / "logs" / "gateway.log").read_text()
        assert oct((home / "logs" / "gateway.log").stat().st_mode & 0o777) == "0o600"
        assert server.start(timeout=30).pid == status.pid  # already running: the same one
    finally:
        stopped = server.stop()
    assert stopped == status.pid
    assert gone(status.pid)
    assert not (home / "bitrouter.pid").exists()
    after = server.status()
    assert not after.running and not after.healthy
    assert server.stop() is None


@pytest.mark.req("DAEMON-START")
def test_two_concurrent_starts_give_one_server(home: Path) -> None:
    port = free_port()
    command = [sys.executable, "-c", STAND_IN, str(port), "gateway.cli"]
    pids: list[int | None] = []

    def start() -> None:
        pids.append(ServerProcess(home, f"http://127.0.0.1:{port}", command=command).start().pid)

    threads = [threading.Thread(target=start) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert len(pids) == 2 and pids[0] == pids[1] and pids[0] is not None
    finally:
        ServerProcess(home, f"http://127.0.0.1:{port}").stop()
    assert (home / "logs" / "gateway.log").read_text().count("stand-in gateway.cli listening") == 1


@pytest.mark.req("DAEMON-START")
def test_a_server_that_exits_at_start_is_one_line_from_its_log(home: Path) -> None:
    crash = "import sys; print('cannot listen on 127.0.0.1:1: taken', file=sys.stderr); sys.exit(1)"
    server = ServerProcess(home, "http://127.0.0.1:1", command=[sys.executable, "-c", crash])
    with pytest.raises(GatewayError) as failure:
        server.start(timeout=30)
    assert failure.value.message.startswith("the server exited: cannot listen on 127.0.0.1:1")
    assert "\n" not in failure.value.message
    assert not (home / "bitrouter.pid").exists()


@pytest.mark.req("DAEMON-START")
def test_refuses_an_address_that_another_server_answers(home: Path, foreign_server: str) -> None:
    server = ServerProcess(home, foreign_server, command=[sys.executable, "-c", "pass"])
    with pytest.raises(GatewayError, match="not started by bitrouter"):
        server.start(timeout=5)
    assert not (home / "bitrouter.pid").exists()


@pytest.mark.req("DAEMON-STATUS")
def test_a_stale_pid_file_is_not_a_running_server(home: Path) -> None:
    (home / "bitrouter.pid").write_text(f"{os.getpid()}\n")  # alive, but not a gateway
    server = ServerProcess(home, f"http://127.0.0.1:{free_port()}")
    assert server.pid() is None
    assert not (home / "bitrouter.pid").exists()
    status = server.status()
    assert (status.running, status.healthy) == (False, False)
    assert status.to_json()["running"] is False
