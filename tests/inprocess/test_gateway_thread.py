"""``gateway.Gateway``: the real server in a background thread, as notebooks and scripts use it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import gateway
from agents import BitRouterError
from gateway.errors import ConfigError, KeystoreError
from gateway.identity import Keystore, read_unverified


def _refused(url: str) -> bool:
    try:
        httpx.get(f"{url}/health", timeout=2)
    except httpx.ConnectError:
        return True
    return False


@pytest.mark.req("NB-1")
@pytest.mark.req("NB-2")
def test_gateway_serves_from_its_own_thread_while_an_asyncio_loop_runs() -> None:
    async def notebook() -> tuple[str, Path, dict[str, object], str]:
        # What a Jupyter kernel does: an asyncio loop is running in this thread.
        gw = gateway.Gateway(simulator=True).start()
        async with gw.async_client() as client:
            health = await client.health()
            reply = await client.chat("moonshotai:kimi-k2.5", "Hello", max_tokens=30)
        assert gw.url is not None
        url, home = gw.url, gw.home
        gw.stop()
        return url, home, health, reply.provider

    url, home, health, provider = asyncio.run(notebook())
    assert health["status"] == "ok"
    assert health["listen"] == url.removeprefix("http://")  # the settings name the real port
    assert provider.endswith("(simulated)")
    assert _refused(url)
    assert not home.exists()  # the temporary home went with it


@pytest.mark.req("NB-1")
@pytest.mark.req("NB-3")
def test_a_temporary_home_gets_a_master_key_and_tokens_are_signed_by_it() -> None:
    with gateway.Gateway(simulator=True, agent_keys=["helper"]) as gw:
        master = Keystore(gw.home).master()
        _, claims = read_unverified(gw.token(budget=5000, ttl_seconds=60))
        client = gw.client()
        as_agent = gw.client(agent="helper")
        spent = as_agent.chat("moonshotai:kimi-k2.5", "Hi", max_tokens=20).cost_micro_usd
        assert client.balance().spent_micro_usd == 0  # the agent is an identity of its own
        assert as_agent.balance().spent_micro_usd == spent
    assert master.solana_address in claims["iss"]
    assert claims["budget"] == 5000
    assert claims["exp"] - claims["iat"] == 60
    with pytest.raises(BitRouterError, match="is closed"):
        client.health()  # stop() closed the clients it made


@pytest.mark.req("NB-1")
def test_a_given_home_is_kept_and_gets_no_key_unless_asked(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with gateway.Gateway(home, simulator=True) as gw:
        assert gw.running
        with pytest.raises(KeystoreError, match="no master key"):
            gw.token()
    assert home.is_dir()
    assert not gw.running
    with gateway.Gateway(home, simulator=True, generate_key=True) as gw:
        assert gw.client().route("moonshotai:kimi-k2.5").chosen


@pytest.mark.req("NB-1")
def test_the_simulator_control_plane_is_reachable_for_failover_demos() -> None:
    with gateway.Gateway(simulator=True) as gw:
        assert gw.simulator_url is not None
        client = gw.client()  # closed by stop()
        first = client.route("moonshotai:kimi-k2.5").candidates[0]
        fault = {"provider": first.provider_id, "kind": "503", "count": 2}
        httpx.post(f"{gw.simulator_url}/_sim/faults", json=fault).raise_for_status()
        reply = client.chat("moonshotai:kimi-k2.5", "Hello", max_tokens=30)
        assert reply.provider != first.provider
        stats = httpx.get(f"{gw.simulator_url}/_sim/stats").json()
        assert stats["requests"][first.provider_id]["chat_completions"] == 1


def test_settings_that_do_not_validate_are_one_clear_error() -> None:
    gw = gateway.Gateway(config={"routing": {"max_attempts": 0}})
    with pytest.raises(ConfigError, match="max_attempts"):
        gw.start()
    assert not gw.running
    assert not gw.home.exists()  # nothing half-made is left behind


@pytest.mark.req("NB-2")
def test_a_process_that_exits_without_stop_leaves_nothing_serving(tmp_path: Path) -> None:
    script = (
        "import gateway\n"
        "gw = gateway.Gateway(simulator=True).start()\n"
        "print(gw.url, gw.home, flush=True)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    url, home = done.stdout.split()
    assert _refused(url)
    assert not Path(home).exists()
