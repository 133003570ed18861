"""Default mode: the operator as the one ``remote`` provider, signed calls, operator prices."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.catalog import load_catalog
from gateway.core import Prices
from gateway.errors import KeystoreError
from gateway.identity import Keystore, read_unverified
from gateway.providers import REMOTE_PROVIDER, load_remote_catalog, resolve_endpoints
from gateway.providers._openai import OpenAIUpstream
from gateway.providers._remote import RemoteTokens, RemoteUpstream, parse_operator_prices
from gateway.settings import Settings, settings_from_mapping

OPERATOR = "http://operator.test:9000"
REPLY = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "openai/gpt-4o-mini",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}


def _settings(home: Path, **remote: Any) -> Settings:
    section = {"url": OPERATOR, **remote}
    return settings_from_mapping({"mode": "default", "remote": section}, home, environ={})


def _keystore(home: Path) -> Keystore:
    keystore = Keystore(home)
    keystore.generate_master()
    keystore.create_agent("my-coding-agent")
    return keystore


def test_default_mode_routes_every_provider_through_the_operator(home: Path) -> None:
    endpoints = resolve_endpoints(load_catalog(), _settings(home), "http://simulator.test")
    assert [e.provider for e in endpoints] == [REMOTE_PROVIDER]
    remote = endpoints.get(REMOTE_PROVIDER)
    assert remote is not None and remote.base_url == f"{OPERATOR}/v1"
    assert remote.protocol == "openai" and not remote.simulated
    assert "authorization" not in remote.headers
    assert not endpoints.status("openai").routable


def test_byok_mode_ignores_the_remote_section(home: Path) -> None:
    settings = settings_from_mapping(
        {"remote": {"url": OPERATOR}}, home, environ={"OPENAI_API_KEY": "sk-x"}
    )
    endpoints = resolve_endpoints(load_catalog(), settings)
    assert endpoints.get(REMOTE_PROVIDER) is None
    assert endpoints.get("openai") is not None


async def test_each_call_carries_a_fresh_token_of_the_agent_key(home: Path, kit: Any) -> None:
    keystore = _keystore(home)
    settings = _settings(home, agent="my-coding-agent")
    assert settings.remote is not None
    mock = kit.upstream(lambda request: httpx.Response(200, json=REPLY))
    upstream = RemoteUpstream(
        OpenAIUpstream(kit.client(mock)), RemoteTokens(keystore, settings.remote)
    )
    endpoint = resolve_endpoints(load_catalog(), settings).get(REMOTE_PROVIDER)
    assert endpoint is not None
    call = kit.call("openai", {"messages": [{"role": "user", "content": "hi"}]})
    call = type(call)(endpoint, "openai/gpt-4o-mini", call.request, None, "req_1")
    await upstream.complete(call)
    await upstream.complete(call)
    tokens = [r.headers["authorization"].removeprefix("Bearer ") for r in mock.requests]
    assert tokens[0] != tokens[1]  # a fresh jti per call
    _, claims = read_unverified(tokens[0])
    assert claims["iss"] == keystore.agent("my-coding-agent").caip10("solana")
    assert claims["agent"] == "my-coding-agent"
    assert claims["exp"] - claims["iat"] <= 600
    assert str(mock.requests[0].url) == f"{OPERATOR}/v1/chat/completions"
    assert mock.body["model"] == "openai/gpt-4o-mini"


def test_operator_prices_prefer_its_remote_offer_then_its_cheapest_routable_one() -> None:
    def offer(pid: str, routable: bool, price: int) -> dict[str, Any]:
        prices = {"input": price, "output": price}
        return {"id": pid, "routable": routable, "prices_micro_usd_per_mtok": prices}

    listing = {
        "data": [
            {"id": "a/one", "providers": [offer("x", True, 9), offer("y", True, 5)]},
            {"id": "a/two", "providers": [offer("x", True, 1), offer("remote", True, 7)]},
            {"id": "a/three", "providers": [offer("x", False, 1)]},
        ]
    }
    assert parse_operator_prices(listing) == {"a/one": Prices(5, 5), "a/two": Prices(7, 7)}


async def test_operator_prices_replace_the_local_ones(home: Path) -> None:
    settings = _settings(home)
    assert settings.remote is not None
    remote_offer = {"id": "remote", "routable": True, "prices_micro_usd_per_mtok": {}}
    remote_offer["prices_micro_usd_per_mtok"] = {"input": 11, "output": 22}
    listing = {"data": [{"id": "openai/gpt-4o-mini", "providers": [remote_offer]}]}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=listing))
    catalog = await load_remote_catalog(load_catalog(), settings.remote, transport=transport)
    model = catalog.get("openai/gpt-4o-mini")
    assert model is not None
    assert [(o.provider, o.provider_model_id, o.prices) for o in model.offers] == [
        ("remote", "openai/gpt-4o-mini", Prices(11, 22))
    ]


async def test_unreachable_operator_keeps_the_cheapest_local_price(
    home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _settings(home)
    assert settings.remote is not None

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    local = load_catalog()
    with caplog.at_level(logging.WARNING, logger="bitrouter"):
        catalog = await load_remote_catalog(
            local, settings.remote, transport=httpx.MockTransport(refuse)
        )
    assert len(caplog.records) == 1 and "operator's prices" in caplog.records[0].message
    assert len(catalog) == len([m for m in local if m.offers])
    for model in local:
        if model.offers:
            cheapest = min(o.prices.input + o.prices.output for o in model.offers)
            (offer,) = catalog.models[model.id].offers
            assert offer.provider == REMOTE_PROVIDER
            assert offer.prices.input + offer.prices.output == cheapest


def test_a_missing_agent_key_is_named_when_a_call_is_signed_not_at_start(home: Path) -> None:
    Keystore(home).generate_master()
    settings = _settings(home, agent="not-created")
    assert settings.remote is not None
    tokens = RemoteTokens(Keystore(home), settings.remote)
    with pytest.raises(KeystoreError):
        tokens.mint()
