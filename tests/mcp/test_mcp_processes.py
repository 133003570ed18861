"""A client's session keeps working when its requests alternate between two gateway processes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx2
import pytest
import trio

from tests.mcp.mcp_fixtures import SDK_LEGACY_SSE_LEAK, Mint, connect

_REPO = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def face_process(home: Path, calc_url: str) -> AsyncIterator[str]:
    """A gateway process serving the MCP face; yields its /mcp URL, stops it on exit."""
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "tests.mcp.mcp_face_server", str(home), calc_url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=_REPO,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        line = b""
        with trio.fail_after(60):
            while not line.endswith(b"\n"):
                chunk = await process.stdout.receive_some()
                assert chunk, "the face process exited before serving"
                line += chunk
        yield line.decode().strip()
    finally:
        with trio.CancelScope(shield=True):
            await process.stdin.aclose()  # the process stops when its stdin closes
            with trio.move_on_after(10):
                await process.wait()
            if process.returncode is None:
                process.kill()
                await process.wait()


class RoundRobin(httpx2.AsyncBaseTransport):
    """Sends each HTTP request to the next of ``ports`` (a load balancer without affinity)."""

    def __init__(self, ports: list[int]) -> None:
        self._ports = ports
        self._inner = httpx2.AsyncHTTPTransport()
        self.sent: list[int] = []
        self.session_ids: list[str] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        port = self._ports[len(self.sent) % len(self._ports)]
        self.sent.append(port)
        request.url = request.url.copy_with(port=port)
        request.headers["host"] = f"127.0.0.1:{port}"
        response = await self._inner.handle_async_request(request)
        if "mcp-session-id" in response.headers:
            self.session_ids.append(response.headers["mcp-session-id"])
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.mark.req("MCP-SES-1")
@SDK_LEGACY_SSE_LEAK
async def test_requests_of_one_session_alternate_between_two_processes(
    home: Path, calc_url: str, mint: Mint
) -> None:
    async with face_process(home, calc_url) as a, face_process(home, calc_url) as b:
        ports = [port for port in (httpx2.URL(a).port, httpx2.URL(b).port) if port is not None]
        for mode in ("auto", "legacy"):  # 2026-07-28 per-request protocol, then the handshake
            balancer = RoundRobin(ports)
            http = httpx2.AsyncClient(
                transport=balancer, headers={"authorization": f"Bearer {mint()}"}
            )
            served_by = set()
            async with connect(a, None, mode=mode, http=http) as client:
                for n in range(4):
                    names = {t.name for t in (await client.list_tools()).tools}
                    assert {"calc__add", "balance"} <= names
                    added = await client.call_tool("calc__add", {"a": n, "b": 1})
                    assert added.structured_content == {"sum": n + 1}
                    balance = await client.call_tool("balance", {})
                    served_by.add(balance.structured_content["served_by"])
            assert len(served_by) == 2, mode  # both processes answered this one session
            assert set(balancer.sent) == set(ports) and len(balancer.sent) >= 12
            assert balancer.session_ids == []  # stateless: no session pinned to a process
