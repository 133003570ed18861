"""The compiled contracts committed next to their Solidity source (``contracts/*.json``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

__all__ = ["Artifact", "ContractName", "load_artifact"]

ContractName = Literal["SpendingAuthority", "TestUSDC"]


@dataclass(frozen=True, slots=True)
class Artifact:
    """A contract's ABI and creation bytecode."""

    name: ContractName
    abi: list[dict[str, Any]]
    bytecode: bytes


def load_artifact(name: ContractName) -> Artifact:
    """Read the committed artifact of contract ``name``."""
    path = resources.files("gateway.chains.evm") / "contracts" / f"{name}.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    return Artifact(name=name, abi=raw["abi"], bytecode=bytes.fromhex(raw["bytecode"][2:]))
