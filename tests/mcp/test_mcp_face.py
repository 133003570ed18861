"""``/mcp`` seen by the official MCP client: listing, calling, namespacing, auth and allowlists."""

from __future__ import annotations

import httpx
import pytest
import trio
from mcp import MCPError

from tests.mcp.mcp_fixtures import CALC_SECRET, SDK_LEGACY_SSE_LEAK, Mint, StartGateway, connect


@pytest.mark.req("MCP-EP-1")
@pytest.mark.req("MCP-UP-1")
@pytest.mark.parametrize("mode", ["auto", pytest.param("legacy", marks=SDK_LEGACY_SSE_LEAK)])
async def test_client_lists_and_calls_both_upstreams_and_gateway_tools(
    start_gateway: StartGateway, mint: Mint, mode: str
) -> None:
    gw = await start_gateway()
    token = mint()
    async with connect(gw.url, token, mode=mode) as client:
        listed = {t.name: t for t in (await client.list_tools()).tools}
        assert {"chat", "quote", "list_models", "balance"} <= set(listed)
        assert {"files__echo", "files__pid", "calc__add", "calc__whoami"} <= set(listed)
        assert listed["files__echo"].meta is not None
        assert listed["files__echo"].meta["bitrouter/price"] == {
            "per_call_micro_usd": 100,
            "per_kb_micro_usd": 0,
        }
        assert listed["calc__add"].input_schema["required"] == ["a", "b"]

        echo = await client.call_tool("files__echo", {"text": "hi"})
        assert echo.content[0].text == "echo: hi"  # type: ignore[union-attr]
        added = await client.call_tool("calc__add", {"a": 2, "b": 3})
        assert added.structured_content == {"sum": 5}

        # The upstream gets its configured header, never the caller's gateway token.
        seen = await client.call_tool("calc__whoami", {})
        assert seen.content[0].text == f"Bearer {CALC_SECRET}"  # type: ignore[union-attr]
        assert token not in seen.content[0].text  # type: ignore[union-attr]

        chat = await client.call_tool(
            "chat", {"model": "openai:gpt-4o-mini", "messages": [{"role": "user", "content": "yo"}]}
        )
        assert chat.content[0].text == "you said: yo"  # type: ignore[union-attr]
        assert chat.structured_content["usage"]["cost_micro_usd"] == 42
        quote = await client.call_tool("quote", {"model": "openai:gpt-4o-mini", "messages": []})
        assert quote.structured_content == {
            "id": "q_test",
            "model": "openai:gpt-4o-mini",
            "max_cost_micro_usd": 1234,
        }
        models = await client.call_tool("list_models", {})
        assert models.structured_content == {"models": [{"id": "openai/gpt-4o-mini"}]}
    ((identity, request),) = gw.tools.chats
    assert request["model"] == "openai:gpt-4o-mini" and identity.startswith("solana:")


@pytest.mark.req("MCP-EP-2")
async def test_without_a_valid_token_the_answer_is_a_real_401(
    start_gateway: StartGateway, mint: Mint
) -> None:
    gw = await start_gateway(servers=())
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"accept": "application/json, text/event-stream"}
    async with httpx.AsyncClient(timeout=10) as http:
        missing = await http.post(gw.url, json=body, headers=headers)
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"].startswith("Bearer")
        assert missing.json()["error"]["type"] == "authentication_error"
        assert "Authorization" in missing.json()["error"]["message"]
        forged = await http.post(
            gw.url, json=body, headers={**headers, "authorization": "Bearer not.a.token"}
        )
        assert forged.status_code == 401 and forged.json()["error"]["code"] != "missing_token"
        admin = await http.post(
            gw.url, json=body, headers={**headers, "authorization": f"Bearer {mint(scope='admin')}"}
        )
        assert admin.status_code == 403
        assert "cannot be used for model, tool and agent calls" in admin.json()["error"]["message"]
    # The SDK client cannot connect without a token (it reports the 401 as an MCPError).
    with pytest.raises(BaseExceptionGroup) as refused:
        async with connect(gw.url, None) as client:
            await client.list_tools()
    assert refused.group_contains(MCPError, depth=None)


@pytest.mark.req("MCP-EP-1")
async def test_the_first_requests_to_a_face_without_upstreams_are_all_answered(
    start_gateway: StartGateway, mint: Mint
) -> None:
    # Without upstream servers the SDK's server starts with the first request; requests that
    # arrive together while it starts all wait for that one start.
    gw = await start_gateway(servers=())
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"},
        },
    }
    headers = {"accept": "application/json, text/event-stream", "authorization": f"Bearer {mint()}"}
    answers: list[httpx.Response] = []
    async with httpx.AsyncClient(timeout=10) as http:

        async def initialize() -> None:
            answers.append(await http.post(gw.url, json=body, headers=headers))

        async with trio.open_nursery() as nursery:
            for _ in range(8):
                nursery.start_soon(initialize)
    assert [a.status_code for a in answers] == [200] * 8
    assert all("serverInfo" in a.text and '"bitrouter"' in a.text for a in answers)
    async with connect(gw.url, mint()) as client:
        assert {"chat", "balance"} <= {t.name for t in (await client.list_tools()).tools}


@pytest.mark.req("MCP-EP-3")
async def test_host_header_must_be_loopback_or_allowed(
    start_gateway: StartGateway, mint: Mint
) -> None:
    gw = await start_gateway(servers=(), server={"allowed_hosts": ["gw.example.com"]})
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"},
        },
    }
    headers = {"accept": "application/json, text/event-stream", "authorization": f"Bearer {mint()}"}
    async with httpx.AsyncClient(timeout=10) as http:
        for host, status in (
            ("evil.example", 421),
            ("gw.example.com", 200),
            ("gw.example.com:443", 200),
            ("localhost:9", 200),
        ):
            answer = await http.post(gw.url, json=body, headers={**headers, "host": host})
            assert answer.status_code == status, host


@pytest.mark.req("MCP-ACL-1")
@pytest.mark.req("MCP-ACL-2")
async def test_allowlists_in_the_token_and_the_settings_hide_and_refuse(
    start_gateway: StartGateway, mint: Mint
) -> None:
    gw = await start_gateway(servers=("calc",), calc={"tools": ["add", "slow"]})
    async with connect(gw.url, mint(tools=["calc__*", "chat"])) as client:
        names = sorted(t.name for t in (await client.list_tools()).tools)
        assert names == ["calc__add", "calc__slow", "chat"]
        with pytest.raises(MCPError) as refused:
            await client.call_tool("balance", {})
        assert refused.value.code == -32003
        assert "not allowed by this token's 'tools' claim" in refused.value.message
        with pytest.raises(MCPError) as hidden:
            await client.call_tool("calc__whoami", {})
        assert hidden.value.code == -32003
        assert "outside the 'tools' allowlist of MCP server 'calc'" in hidden.value.message
        assert (await client.call_tool("calc__add", {"a": 1, "b": 1})).structured_content == {
            "sum": 2
        }
        assert [p.name for p in (await client.list_prompts()).prompts] == ["calc__hello"]
    async with connect(gw.url, mint(tools=["chat"])) as narrow:
        assert (await narrow.list_prompts()).prompts == []
        with pytest.raises(MCPError) as prompt_refused:
            await narrow.get_prompt("calc__hello")
        assert prompt_refused.value.code == -32003
    principal_tools = await gw.face.list_tools_for(
        await gw.face.authenticate(f"Bearer {mint(tools=['calc__add'])}")
    )
    assert principal_tools == [
        {
            "name": "calc__add",
            "description": "a + b",
            "server": "calc",
            "price": {"per_call_micro_usd": 7, "per_kb_micro_usd": 0},
            "available": True,
        }
    ]
    assert gw.spend.usage[0]["subject"] == "calc__add"
    assert len(gw.spend.usage) == 1  # refused calls charge nothing


@pytest.mark.req("MCP-EP-1")
@pytest.mark.req("MCP-UP-3")
async def test_resources_prompts_and_list_changes(start_gateway: StartGateway, mint: Mint) -> None:
    gw = await start_gateway()
    async with connect(gw.url, mint()) as client, connect(gw.url, mint()) as watcher:
        resources = (await client.list_resources()).resources
        assert [(r.name, r.uri) for r in resources] == [("files__today", "files__notes://today")]
        read = await client.read_resource("files__notes://today")
        assert read.contents[0].text == "buy milk"  # type: ignore[union-attr]
        assert read.contents[0].uri == "files__notes://today"
        prompts = sorted(p.name for p in (await client.list_prompts()).prompts)
        assert prompts == ["calc__hello", "files__review"]
        review = await client.get_prompt("files__review", {"topic": "the budget"})
        assert review.messages[0].content.text == "Please review the budget."  # type: ignore[union-attr]
        with pytest.raises(MCPError) as unknown:
            await client.get_prompt("nobody__review", {})
        assert "no MCP server named 'nobody'" in unknown.value.message

        async with watcher.listen(tools_list_changed=True) as changes:
            assert "files__fresh" not in {t.name for t in (await client.list_tools()).tools}
            await client.call_tool("files__grow", {})
            with trio.fail_after(20):
                await changes.__anext__()
            listed = {t.name for t in (await client.list_tools(cache_mode="bypass")).tools}
            assert "files__fresh" in listed
            assert (await client.call_tool("files__fresh", {})).content[0].text == "fresh!"  # type: ignore[union-attr]


@pytest.mark.req("MCP-ERR-1")
async def test_unknown_tools_and_slow_servers_fail_clearly(
    start_gateway: StartGateway, mint: Mint
) -> None:
    gw = await start_gateway(servers=("calc",), calc={"timeout_seconds": 0.5})
    async with connect(gw.url, mint()) as client:
        with pytest.raises(MCPError) as unknown:
            await client.call_tool("calc__divide", {"a": 1, "b": 0})
        assert unknown.value.code == -32601
        assert unknown.value.message == "MCP server 'calc' has no tool 'divide'"
        with pytest.raises(MCPError) as invalid:
            await client.call_tool("calc__liar", {})
        assert invalid.value.code == -32005
        assert invalid.value.message == (
            "MCP server 'calc' answered tools/call 'liar' with an invalid result"
        )
        with pytest.raises(MCPError) as slow:
            await client.call_tool("calc__slow", {"seconds": 5})
        assert slow.value.code == -32005
        assert (
            slow.value.message == "MCP server 'calc' did not answer tools/call 'slow' within 0.5s"
        )
        assert slow.value.data == {
            "type": "upstream_error",
            "code": "mcp_server_timeout",
            "status": 504,
        }
    assert gw.spend.usage == [] and sum(gw.spend.held.values()) == 0
