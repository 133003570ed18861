"""Where the client's token comes from: given, a factory, or signed from a keystore."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents import BitRouterError, Client
from gateway import Gateway
from gateway.identity import Keystore, read_unverified
from tests.agents.client.conftest import MODEL


@pytest.mark.req("NB-5")
def test_a_factory_is_asked_for_a_token_and_asked_again_when_it_expires(gw: Gateway) -> None:
    made: list[int] = []

    def factory(ttl: int) -> str:
        made.append(ttl)
        return gw.token(ttl_seconds=ttl)

    with Client(gw.url or "", token_factory=lambda: factory(3600)) as lasting:
        lasting.route(MODEL)
        lasting.route(MODEL)
    # A token within a minute of its expiry is renewed before the next request.
    with Client(gw.url or "", token_factory=lambda: factory(30)) as expiring:
        expiring.route(MODEL)
        expiring.route(MODEL)
    assert made == [3600, 30, 30]


@pytest.mark.req("NB-5")
def test_without_a_token_the_client_signs_one_from_the_home_keystore(
    gw: Gateway, tmp_path: Path
) -> None:
    with Client(gw.url or "", home=gw.home) as client:
        decision = client.route(MODEL)
        _, claims = read_unverified(client.token())
    master = Keystore(gw.home).master()
    assert decision.candidates
    assert master.solana_address in claims["iss"]
    assert claims["scope"] == "api"
    keyless = Client(gw.url or "", home=tmp_path)
    with keyless, pytest.raises(BitRouterError, match="cannot sign a token: no master key"):
        keyless.route(MODEL)


@pytest.mark.req("NB-5")
def test_an_openai_style_base_url_names_the_same_gateway(gw: Gateway) -> None:
    with Client(f"{gw.url}/v1/", token=gw.token()) as client:
        assert client.base_url == gw.url
        assert client.health()["status"] == "ok"
