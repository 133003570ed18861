"""Tool calls are priced, reserved, charged and capped like model calls."""

from __future__ import annotations

import pytest
import trio
from mcp import MCPError

from tests.mcp.mcp_fixtures import Mint, StartGateway, connect


@pytest.mark.req("MCP-PAY-1")
@pytest.mark.req("MCP-PAY-2")
@pytest.mark.req("MCP-PAY-3")
async def test_calls_are_charged_at_their_price_and_stopped_by_the_cap(
    start_gateway: StartGateway, mint: Mint
) -> None:
    gw = await start_gateway(cap=300, servers=("files",), files={"max_result_bytes": 8192})
    async with connect(gw.url, mint()) as client:
        echo = await client.call_tool("files__echo", {"text": "a"})
        assert echo.meta is not None and echo.meta["bitrouter/cost_micro_usd"] == 100

        blob = await client.call_tool("files__blob", {"size": 2000})
        line = gw.spend.usage[-1]
        assert line["result_bytes"] > 4000  # text and structured copies of 2000 bytes
        per_kb = -(-line["result_bytes"] * 10 // 1024)  # 10 µUSD per KiB, rounded up
        assert blob.meta is not None and blob.meta["bitrouter/cost_micro_usd"] == 1 + per_kb
        assert line["cost_micro_usd"] == 1 + per_kb

        with pytest.raises(MCPError) as too_big:
            await client.call_tool("files__blob", {"size": 9000})
        assert too_big.value.code == -32005
        assert "more than its max_result_bytes (8192)" in too_big.value.message

        broken = await client.call_tool("files__broken", {})
        assert broken.is_error and "the disk is on fire" in broken.content[0].text  # type: ignore[union-attr]

        spent = 100 + 1 + per_kb + 1
        assert gw.spend.spent == {line["identity"]: spent}
        room = 300 - spent
        assert 100 <= room < 200  # room for exactly one more echo

        outcomes: list[str] = []

        async def echo_once() -> None:
            try:
                await client.call_tool("files__echo", {"text": "race"})
                outcomes.append("ok")
            except MCPError as exc:
                assert exc.code == -32002
                assert exc.data == {
                    "type": "insufficient_quota",
                    "code": "spending_cap_exceeded",
                    "status": 402,
                }
                assert "spending cap reached: files__echo needs up to 100 µUSD" in exc.message
                outcomes.append("refused")

        async with trio.open_nursery() as nursery:
            for _ in range(3):
                nursery.start_soon(echo_once)
        assert sorted(outcomes) == ["ok", "refused", "refused"]
        assert gw.spend.spent[line["identity"]] == spent + 100 <= 300

    assert [
        (u["kind"], u["subject"], u["outcome"], u["cost_micro_usd"]) for u in gw.spend.usage
    ] == [
        ("tool", "files__echo", "ok", 100),
        ("tool", "files__blob", "ok", 1 + per_kb),
        ("tool", "files__broken", "error", 1),
        ("tool", "files__echo", "ok", 100),
    ]
    assert all(u["request_id"].startswith("mcp_") for u in gw.spend.usage)
    assert sum(gw.spend.held.values()) == 0
