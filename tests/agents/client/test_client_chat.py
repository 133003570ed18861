"""Chat, streams, quotes, routes and models through the sync and async clients."""

from __future__ import annotations

import asyncio

import pytest
import trio

from agents import AsyncClient, BitRouterError, Client
from gateway import Gateway
from tests.agents.client.conftest import MODEL


@pytest.mark.req("NB-4")
def test_chat_reports_the_provider_tokens_and_cost(gw: Gateway) -> None:
    with gw.client() as client:
        reply = client.chat(MODEL, "Hello there", max_tokens=40)
    assert reply.text.startswith("[simulated ")
    assert reply.provider.endswith("(simulated)")
    assert reply.model == "moonshotai/kimi-k2.5"
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0
    assert reply.cost_micro_usd is not None and reply.cost_micro_usd > 0
    assert reply.request_id is not None and reply.request_id.startswith("req_")


@pytest.mark.req("NB-8")
def test_a_stream_yields_the_text_and_ends_with_the_cost(gw: Gateway) -> None:
    with gw.client() as client:
        # Pinned: the router learns from every call, so two calls may otherwise differ.
        only = {"only": [client.route(MODEL).candidates[0].provider_id]}
        whole = client.chat(MODEL, "Stream me", max_tokens=40, provider=only)
        stream = client.chat(MODEL, "Stream me", max_tokens=40, stream=True, provider=only)
        deltas = list(stream)
    assert len(deltas) > 1
    assert "".join(deltas) == whole.text == stream.text
    assert stream.done and stream.finish_reason == "stop"
    assert stream.provider == whole.provider
    assert stream.cost_micro_usd == whole.cost_micro_usd
    assert stream.result().usage == whole.usage


@pytest.mark.req("NB-4")
def test_a_quoted_call_is_served_at_the_quote_and_never_above_it(gw: Gateway) -> None:
    with gw.client() as client:
        quote = client.quote(MODEL, "How much?", max_tokens=60)
        reply = client.chat(MODEL, "How much?", max_tokens=60, quote=quote)
        with pytest.raises(BitRouterError) as reused:
            client.chat(MODEL, "How much?", max_tokens=60, quote=quote.id)
    assert quote.max_output_tokens == 60 and quote.input_tokens == reply.usage.prompt_tokens
    assert reply.provider == quote.provider and reply.quote_id == quote.id
    assert reply.cost_micro_usd is not None
    assert 0 < reply.cost_micro_usd <= quote.max_cost_micro_usd
    assert reused.value.status == 400


@pytest.mark.req("NB-4")
def test_route_and_models_agree_with_the_calls(gw: Gateway) -> None:
    with gw.client() as client:
        decision = client.route(MODEL)
        reply = client.chat(MODEL, "Who serves me?", max_tokens=20)
        pinned = decision.candidates[1]
        other = client.chat(MODEL, "Hi", max_tokens=20, provider={"only": [pinned.provider_id]})
        models = client.models("kimi-k2.5")
    assert decision.chosen == decision.candidates[0].provider == reply.provider
    assert [c.rank for c in decision.candidates] == list(range(1, len(decision.candidates) + 1))
    assert other.provider == pinned.provider
    assert models.get(MODEL) is not None
    assert all("kimi-k2.5" in m.id for m in models)
    routable = {o.provider for o in models.get(MODEL).providers if o.routable}  # type: ignore[union-attr]
    assert {c.provider_id for c in decision.candidates} <= routable


@pytest.mark.req("NB-7")
def test_refusals_carry_the_status_code_and_message(gw: Gateway) -> None:
    with gw.client() as client, pytest.raises(BitRouterError) as unknown:
        client.chat("nobody:no-such-model", "Hi")
    stranger = Client(gw.url or "", token="not.a.token")
    with stranger, pytest.raises(BitRouterError) as bad_token:
        stranger.route(MODEL)
    nowhere = Client("http://127.0.0.1:9", token="x")
    with nowhere, pytest.raises(BitRouterError) as unreachable:
        nowhere.health()
    assert unknown.value.status == 404 and "no-such-model" in unknown.value.message
    assert unknown.value.code
    assert bad_token.value.status == 401
    assert unreachable.value.status is None
    assert "cannot reach the gateway at http://127.0.0.1:9" in str(unreachable.value)


async def _async_session(client: AsyncClient) -> tuple[str, str, int | None]:
    async with client:
        decision = await client.route(MODEL)
        only = {"only": [decision.candidates[0].provider_id]}
        reply = await client.chat(MODEL, "Hello async", max_tokens=30, provider=only)
        stream = await client.chat(MODEL, "Hello async", max_tokens=30, stream=True, provider=only)
        text = "".join([delta async for delta in stream])
    assert reply.provider == stream.provider == decision.candidates[0].provider
    return reply.text, text, stream.cost_micro_usd


@pytest.mark.req("NB-4")
async def test_the_async_client_works_under_trio(gw: Gateway) -> None:
    with trio.fail_after(30):
        whole, streamed, cost = await _async_session(gw.async_client())
    assert whole == streamed and cost


@pytest.mark.req("NB-4")
def test_the_async_client_works_under_asyncio(gw: Gateway) -> None:
    whole, streamed, cost = asyncio.run(_async_session(gw.async_client()))
    assert whole == streamed and cost
