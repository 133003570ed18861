"""The package's public API, the /v1/agents route without agents, and the spec's coverage."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
import trio
from quart_trio import QuartTrio

import gateway.acp
from gateway.errors import ConfigError
from gateway.http._agents import ROUTES, blueprint
from gateway.settings import settings_from_mapping
from tests.acp.acp_stack import serve_asgi

ROOT = Path(__file__).resolve().parents[2]


def test_the_public_api_is_declared_and_documented() -> None:
    assert gateway.acp.__all__ == [
        "AcpFace",
        "Authenticate",
        "MemoryHold",
        "MemorySpendGuard",
        "SessionToken",
        "SpendGuard",
    ]
    for name in gateway.acp.__all__:
        value = getattr(gateway.acp, name)
        assert getattr(value, "__doc__", None) or name in ("Authenticate", "SessionToken")


async def _nobody(header: str | None) -> object:
    raise AssertionError("not called")


def test_without_agents_the_acp_sdk_is_not_loaded(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from pathlib import Path\n"
        "from gateway.acp import AcpFace, MemorySpendGuard\n"
        "from gateway.settings import settings_from_mapping\n"
        "AcpFace(settings_from_mapping({}, Path(sys.argv[1]), environ={}), authenticate=None,\n"
        "        spend=MemorySpendGuard(), session_token=None, gateway_url='http://gw')\n"
        "print(sorted(m for m in sys.modules if m == 'acp' or m.startswith('acp.')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


async def _no_token(principal: object) -> str:
    raise AssertionError("not called")


def test_two_agents_of_one_name_are_refused(home: Path) -> None:
    agent = {"name": "twin", "command": "true"}
    settings = settings_from_mapping({"acp_agents": [agent, agent]}, home, environ={})
    with pytest.raises(ConfigError, match="'twin' is used more than once"):
        gateway.acp.AcpFace(
            settings,
            authenticate=_nobody,  # type: ignore[arg-type]
            spend=gateway.acp.MemorySpendGuard(),
            session_token=_no_token,  # type: ignore[arg-type]
            gateway_url="http://127.0.0.1:8787",
        )


@pytest.mark.req("ACP-LIST")
async def test_the_agents_route_without_a_face_lists_nothing(nursery: trio.Nursery) -> None:
    app = QuartTrio("agents-route")
    app.register_blueprint(blueprint())
    app.extensions["bitrouter"] = SimpleNamespace(acp=None)
    url = await serve_asgi(nursery, app)
    async with httpx.AsyncClient() as http:
        response = await http.get(url + "/v1/agents")
    assert response.status_code == 200
    assert response.json() == {"object": "list", "data": []}
    assert [(r.method, r.path, r.auth) for r in ROUTES] == [("GET", "/v1/agents", "none")]


def test_every_requirement_of_the_spec_is_proven_by_a_test() -> None:
    spec = (ROOT / "specs" / "acp.md").read_text()
    required = set(re.findall(r"\*\*\[((?:ACP|AGENT)-[A-Z-]+)\]", spec))
    tests = [
        *(ROOT / "tests" / "acp").glob("test_*.py"),
        *(ROOT / "tests" / "agents" / "assistant").glob("test_*.py"),
    ]
    tagged = {m for path in tests for m in re.findall(r'req\("([A-Z-]+)"\)', path.read_text())}
    assert required, "the spec names no requirements"
    assert required <= tagged, f"not proven by any test: {sorted(required - tagged)}"
    assert tagged <= required, f"tagged but not in the spec: {sorted(tagged - required)}"
