"""The on-chain package's public names are exactly ``__all__`` and each is documented."""

from __future__ import annotations

import inspect

import gateway.onchain


def test_public_names_are_documented() -> None:
    names = gateway.onchain.__all__
    assert len(set(names)) == len(names)
    for name in names:
        value = getattr(gateway.onchain, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert value.__doc__, name
    public = {n for n in dir(gateway.onchain) if not n.startswith("_")}
    assert set(names) <= public
