"""The MCP face's pure rules: prices, names, settings checks, host checks, public API."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import gateway.mcp
from gateway.errors import ConfigError
from gateway.mcp import McpFace, MemorySpendGuard, ToolPrice
from gateway.mcp._hosts import transport_security
from gateway.mcp._names import qualify, split
from gateway.mcp._pricing import price_of
from gateway.settings import McpServerSettings, ServerSettings
from tests.conftest import make_settings
from tests.mcp.mcp_fixtures import FakeGatewayTools


@pytest.mark.req("MCP-PAY-1")
def test_per_kb_prices_round_up_and_reserve_the_largest_result() -> None:
    price = ToolPrice(per_call=5, per_kb=10)
    assert [price.cost(n) for n in (0, 1, 1024, 1025, 2048)] == [5, 6, 15, 16, 25]
    assert price.reservation(1024 * 1024) == 5 + 10 * 1024
    assert ToolPrice(per_call=7, per_kb=0).cost(10**9) == 7


@pytest.mark.req("MCP-UP-1")
def test_prices_come_from_the_tool_or_the_server_default() -> None:
    server = McpServerSettings(
        name="fs",
        command="fs-server",
        prices={"read": 50},
        default_price=3,
        price_per_kb=2,
        prices_per_kb={"read": 9},
    )
    assert price_of(server, "read") == ToolPrice(per_call=50, per_kb=9)
    assert price_of(server, "write") == ToolPrice(per_call=3, per_kb=2)


@pytest.mark.req("MCP-EP-1")
def test_names_split_at_the_first_double_underscore() -> None:
    assert qualify("fs", "read") == "fs__read"
    assert split("fs__read__all") == ("fs", "read__all")
    assert split("fs__notes://today") == ("fs", "notes://today")
    assert [split(n) for n in ("chat", "__read", "fs__")] == [None, None, None]


@pytest.mark.req("MCP-UP-1")
def test_server_names_cannot_be_ambiguous(home: Path) -> None:
    with pytest.raises(ValueError, match="must not contain '__'"):
        McpServerSettings(name="my__fs", command="x")
    with pytest.raises(ValueError, match="exactly one of 'command' or 'url'"):
        McpServerSettings(name="fs", command="x", url="http://fs")
    twice = make_settings(
        home, mcp_servers=[{"name": "fs", "command": "a"}, {"name": "fs", "url": "http://b"}]
    )

    async def nobody(header: str | None) -> object:
        raise AssertionError

    with pytest.raises(ConfigError, match="the name 'fs' is used more than once"):
        McpFace(
            twice,
            authenticate=nobody,
            check_tool=lambda p, n: None,  # type: ignore[arg-type]
            spend=MemorySpendGuard(),
            tools=FakeGatewayTools(),
        )


@pytest.mark.req("MCP-EP-3")
def test_allowed_hosts_cover_loopback_the_listen_address_and_the_configured_names() -> None:
    local = transport_security(ServerSettings())
    assert local.enable_dns_rebinding_protection
    assert {"127.0.0.1", "localhost:*", "[::1]:*"} <= set(local.allowed_hosts)
    public = transport_security(ServerSettings(host="0.0.0.0", allowed_hosts=("gw.example.com",)))
    assert {"gw.example.com", "gw.example.com:*"} <= set(public.allowed_hosts)
    assert "0.0.0.0:*" not in public.allowed_hosts
    assert "https://gw.example.com" in public.allowed_origins
    assert not transport_security(
        ServerSettings(allowed_hosts=("*",))
    ).enable_dns_rebinding_protection


def test_public_api_is_declared_and_documented() -> None:
    for name in gateway.mcp.__all__:
        value = getattr(gateway.mcp, name)
        if isinstance(value, type):  # the two callable aliases are documented in _ports
            assert value.__doc__, name
    assert set(gateway.mcp.__all__) == {
        "Authenticate",
        "CheckTool",
        "GatewayTools",
        "McpFace",
        "MemoryHold",
        "MemorySpendGuard",
        "SpendGuard",
        "ToolPrice",
        "UpstreamStatus",
    }


_LAZY_PROBE = """
import sys, trio
from pathlib import Path
from gateway.mcp import McpFace, MemorySpendGuard
from gateway.settings import settings_from_mapping

face = McpFace(settings_from_mapping({}, Path(sys.argv[1]), environ={}), authenticate=None,
               check_tool=lambda principal, name: None, spend=MemorySpendGuard(), tools=None)
print("mcp_types" in sys.modules, "mcp" in sys.modules)
tools = trio.run(face.list_tools_for, None)
print(len(tools), "mcp_types" in sys.modules, "mcp" in sys.modules)
"""


def test_without_upstreams_the_sdk_waits_for_the_first_request(tmp_path: Path) -> None:
    # The SDK's server (with starlette, uvicorn, anyio) is started by the first request to /mcp
    # (tests/mcp/test_mcp_face.py serves faces without upstreams); a tool listing needs only the
    # wire types.
    probe = subprocess.run(
        [sys.executable, "-c", _LAZY_PROBE, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.split("\n")[:2] == ["False False", "4 True False"]


def test_every_mcp_requirement_has_a_test_and_every_tag_a_requirement() -> None:
    here = Path(__file__).parent
    spec = (here.parent.parent / "specs" / "mcp.md").read_text(encoding="utf-8")
    ids = set(re.findall(r"^\*\*\[(MCP-[A-Z]+-\d+)\]", spec, re.MULTILINE))
    tagged: set[str] = set()
    for path in here.glob("test_*.py"):
        tagged |= set(re.findall(r'req\("(MCP-[A-Z]+-\d+)"\)', path.read_text(encoding="utf-8")))
    assert len(ids) == 15
    assert sorted(ids - tagged) == [] and sorted(tagged - ids) == []
