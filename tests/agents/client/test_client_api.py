"""The client's public API: its names, docstrings and types, and what it imports."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

import agents
import agents.client


@pytest.mark.req("NB-11")
def test_all_lists_the_public_api_once_sorted_and_agents_reexports_it() -> None:
    public = agents.client.__all__
    assert public == sorted(public, key=lambda n: (n[0].islower(), n))
    assert len(set(public)) == len(public)
    assert agents.__all__ == public
    defined = {
        name
        for name, value in vars(agents.client).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert defined == set(public)
    for name in public:
        assert getattr(agents, name) is getattr(agents.client, name)


@pytest.mark.req("NB-11")
def test_every_public_name_and_method_has_a_docstring_and_annotations() -> None:
    for name in agents.client.__all__:
        value = getattr(agents.client, name)
        if not (inspect.isclass(value) or inspect.isfunction(value)):
            continue  # type aliases
        assert (value.__doc__ or "").strip(), name
        members = inspect.getmembers(value, inspect.isfunction) if inspect.isclass(value) else []
        for member_name, member in [(name, value), *members]:
            if member_name.startswith("_") and member_name != name:
                continue
            if inspect.isclass(member):
                continue
            assert (member.__doc__ or "").strip(), f"{name}.{member_name}"
            signature = inspect.signature(member)
            assert signature.return_annotation is not inspect.Signature.empty, member_name
            for parameter in signature.parameters.values():
                if parameter.name not in ("self", "cls"):
                    assert parameter.annotation is not inspect.Parameter.empty, (
                        f"{name}.{member_name}({parameter.name})"
                    )


@pytest.mark.req("NB-5")
def test_a_client_given_a_token_never_imports_the_gateway() -> None:
    script = (
        "import sys, agents\n"
        "client = agents.Client('http://127.0.0.1:9', token='t')\n"
        "try:\n"
        "    client.health()\n"
        "except agents.BitRouterError:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'gateway'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
