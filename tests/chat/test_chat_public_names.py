from __future__ import annotations

import importlib
import inspect

import pytest

PACKAGES = [
    "gateway.chat",
    "gateway.openai_wire",
    "gateway.providers",
    "gateway.routing",
    "gateway.quotes",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_each_package_states_its_public_api_and_documents_it(name: str) -> None:
    package = importlib.import_module(name)
    assert package.__doc__
    public = package.__all__
    assert public == sorted(public, key=lambda n: (not n.isupper(), n))
    for attribute in public:
        value = getattr(package, attribute)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert getattr(value, "__doc__", None), f"{name}.{attribute} has no docstring"
