"""The EVM packages state their public API, and every public name is documented."""

from __future__ import annotations

import gateway.chains.evm as evm
import gateway.chains.evm.node as node


def test_public_names_exist_and_are_documented() -> None:
    for package in (evm, node):
        assert sorted(package.__all__) == sorted(set(package.__all__))
        for name in package.__all__:
            value = getattr(package, name)
            assert name.isupper() or value.__doc__, f"{package.__name__}.{name}"
    assert {"EvmChain", "open_evm_chain"} <= set(evm.__all__)
