"""The control plane: queued faults, request counts, reset."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

AUTH = {"authorization": "Bearer sk-sim"}


def _chat(model: str = "m") -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "Hi"}]}


async def _status(http: httpx.AsyncClient, provider: str, model: str = "m") -> int:
    path = f"/p/{provider}/v1/chat/completions"
    return (await http.post(path, json=_chat(model), headers=AUTH)).status_code


@pytest.mark.req("SIM-PLANE")
@pytest.mark.req("SIM-PROVIDERS")
async def test_queued_faults_hit_only_the_next_matching_requests(http: httpx.AsyncClient) -> None:
    order = {"provider": "a", "kind": 503, "count": 2}
    queued = await http.post("/_sim/faults", json=order)
    assert queued.status_code == 200
    only_big = {"provider": "b", "model": "big", "kind": "429", "retry_after": 9}
    assert (await http.post("/_sim/faults", json=only_big)).status_code == 200

    assert [await _status(http, "b", "small"), await _status(http, "a")] == [200, 503]
    pending = (await http.get("/_sim/stats")).json()["pending_faults"]
    assert [(p["provider"], p["remaining"]) for p in pending] == [("a", 1), ("b", 1)]
    big = await http.post("/p/b/v1/chat/completions", json=_chat("big"), headers=AUTH)
    assert (big.status_code, big.headers["retry-after"]) == (429, "9")
    assert [
        await _status(http, "a"),
        await _status(http, "a"),
        await _status(http, "b", "big"),
    ] == [
        503,
        200,
        200,
    ]
    assert (await http.get("/_sim/stats")).json()["pending_faults"] == []


@pytest.mark.req("SIM-PLANE")
@pytest.mark.req("SIM-PROVIDERS")
async def test_stats_count_every_arrival_per_provider_and_route(http: httpx.AsyncClient) -> None:
    await http.post("/p/a/v1/chat/completions", json=_chat(), headers=AUTH)
    await http.post("/p/a/v1/chat/completions", json=_chat())  # refused: no key, still counted
    await http.post("/v1/chat/completions", json=_chat(), headers=AUTH)
    await http.get("/p/a/v1/models", headers=AUTH)
    await http.post(
        "/p/g/v1beta/models/x:generateContent?key=k",
        json={"contents": [{"parts": [{"text": "x"}]}]},
    )
    stats = (await http.get("/_sim/stats")).json()
    assert stats["simulator"] is True
    assert stats["requests"] == {
        "a": {"chat_completions": 2, "models": 1},
        "default": {"chat_completions": 1},
        "g": {"generateContent": 1},
    }
    assert stats["total"] == 5
    recent = stats["recent"]
    assert [(r["provider"], r["model"]) for r in recent] == [
        ("a", "m"),
        ("default", "m"),
        ("g", "x"),
    ]
    assert all("sk-sim" not in str(r) for r in recent)

    assert (await http.post("/_sim/reset")).json() == {"reset": True}
    cleared = (await http.get("/_sim/stats")).json()
    assert (cleared["requests"], cleared["total"], cleared["recent"]) == ({}, 0, [])


@pytest.mark.req("SIM-PLANE")
async def test_bad_fault_orders_are_refused(http: httpx.AsyncClient) -> None:
    unknown = await http.post("/_sim/faults", json={"provider": "a", "kind": "meltdown"})
    missing = await http.post("/_sim/faults", json={"kind": "500"})
    not_json = await http.post("/_sim/faults", content=b"{")
    assert unknown.status_code == missing.status_code == not_json.status_code == 400
    assert unknown.json()["error"]["message"].startswith("kind:")
    assert missing.json()["error"]["message"].startswith("provider:")
    assert await _status(http, "a") == 200


@pytest.mark.req("SIM-LABEL")
async def test_unknown_routes_are_json_404s(http: httpx.AsyncClient) -> None:
    response = await http.get("/nowhere")
    assert response.status_code == 404
    assert response.headers["x-bitrouter-simulator"] == "1"
    assert "not a simulated route" in response.json()["error"]["message"]
    about = (await http.get("/")).json()
    assert "not real models" in about["simulator"]
