"""The hostile token corpus against the real HTTP face: every token is a 401 with a clear
reason, never a 5xx, and nothing is spent or sent upstream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import trio

from tests.conftest import make_settings
from tests.identity.test_hostile_tokens import CORPUS

CHAT = {
    "model": "moonshotai:kimi-k2.5",
    "messages": [{"role": "user", "content": "Hi"}],
    "max_tokens": 10,
}


@pytest.fixture
async def open_gateway(home: Path, nursery: trio.Nursery) -> AsyncIterator[str]:
    from gateway.http import serve

    settings = make_settings(home, auth={"policy": "open"})
    urls = await nursery.start(
        lambda task_status: serve(
            settings, host="127.0.0.1", port=0, handle_signals=False, task_status=task_status
        )
    )
    yield urls[0]
    nursery.cancel_scope.cancel()


@pytest.mark.req("AUTH-VER-1")
async def test_every_hostile_token_is_a_clear_401_and_nothing_is_spent(open_gateway: str) -> None:
    async with httpx.AsyncClient(base_url=open_gateway, timeout=10) as client:
        for name, build, _reason in CORPUS:
            header = ("Bearer " + build()).encode("utf-8", "surrogatepass")
            r = await client.post(
                "/v1/chat/completions", json=CHAT, headers={"authorization": header}
            )
            assert r.status_code == 401, (name, r.status_code, r.text)
            error = r.json()["error"]
            assert error["type"] == "authentication_error" and error["message"], name
            assert "Traceback" not in r.text
        health = (await client.get("/health")).json()
        stats = (await client.get(f"{health['simulator_url']}/_sim/stats")).json()
        usage_rows = 0
    assert stats["total"] == 0
    assert usage_rows == 0
