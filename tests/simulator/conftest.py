"""A real simulator on loopback for every test, and SDK clients pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import anthropic
import httpx
import openai
import pytest
import trio

from gateway.simulator import SimulatorConfig, serve_simulator


@pytest.fixture
async def sim_url(nursery: trio.Nursery) -> str:
    """Base URL of a fresh simulator served in the test's nursery."""
    url: str = await nursery.start(serve_simulator, SimulatorConfig())
    return url


@pytest.fixture
def openai_client(sim_url: str) -> Iterator[openai.OpenAI]:
    """The official OpenAI SDK, as provider ``openai`` of the simulator."""
    with openai.OpenAI(base_url=f"{sim_url}/p/openai/v1", api_key="sk-sim", max_retries=0) as c:
        yield c


@pytest.fixture
def anthropic_client(sim_url: str) -> Iterator[anthropic.Anthropic]:
    """The official Anthropic SDK, as provider ``anthropic`` of the simulator."""
    with anthropic.Anthropic(
        base_url=f"{sim_url}/p/anthropic", api_key="sk-sim", max_retries=0
    ) as c:
        yield c


@pytest.fixture
async def http(sim_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client on the simulator's base URL (closed by the nursery's end)."""
    async with httpx.AsyncClient(base_url=sim_url, timeout=10) as client:
        yield client
