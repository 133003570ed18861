from __future__ import annotations

import inspect

import gateway.identity


def test_public_names_exist_and_are_documented() -> None:
    assert len(set(gateway.identity.__all__)) == len(gateway.identity.__all__)
    for name in gateway.identity.__all__:
        value = getattr(gateway.identity, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert value.__doc__, name
            assert value.__module__.startswith("gateway.identity."), name
