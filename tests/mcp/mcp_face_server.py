"""One gateway process serving only the MCP face, for the multi-process test.

``python -m tests.mcp.mcp_face_server HOME CALC_URL`` verifies tokens of HOME's keys, connects
the ``calc`` upstream at CALC_URL, prints its ``/mcp`` URL on one stdout line, and serves until
its stdin closes (so it never outlives the test that started it).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import trio

from gateway.identity import (
    AccessPolicy,
    Keystore,
    MemoryRevocationStore,
    Principal,
    Verifier,
    bearer_token,
)
from gateway.mcp import McpFace, MemorySpendGuard
from gateway.settings import AuthSettings
from tests.mcp.mcp_fixtures import FakeGatewayTools, gateway_settings, serve_asgi


class _Clock:
    def now(self) -> float:
        return time.time()


async def _until_stdin_closes() -> None:
    stdin = trio.lowlevel.FdStream(0)
    while await stdin.receive_some():
        pass


async def main(home: Path, calc_url: str) -> None:
    auth = AuthSettings()
    verifier = Verifier(
        auth, AccessPolicy(auth, Keystore(home), clock=_Clock()), MemoryRevocationStore()
    )

    async def authenticate(header: str | None) -> Principal:
        return await verifier.verify(bearer_token(header), scope="api")

    face = McpFace(
        gateway_settings(home, calc_url, servers=("calc",)),
        authenticate=authenticate,
        check_tool=verifier.check_tool,
        spend=MemorySpendGuard(),
        tools=FakeGatewayTools(),
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(face.run)
        url = await serve_asgi(nursery, face.asgi)
        print(f"{url}/mcp", flush=True)
        await _until_stdin_closes()
        nursery.cancel_scope.cancel()


if __name__ == "__main__":
    trio.run(main, Path(sys.argv[1]), sys.argv[2])
