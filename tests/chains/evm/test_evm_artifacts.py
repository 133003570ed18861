"""The committed contract JSON is exactly what the committed Solidity compiles to."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from gateway.chains.evm._artifacts import ContractName, load_artifact

_SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "build_contracts.py"


def _build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_contracts", _SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.req("EVM-BUILD-1")
def test_committed_artifacts_match_a_fresh_compile(tmp_path: Path) -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed to compile the contracts")
    build = _build_script()
    cache = build.default_cache_dir()
    if not build.solc_module(cache).is_dir():
        cache = tmp_path / "solc"  # never leave an install behind that nobody asked for
    try:
        module = build.install_solc(cache, timeout=120)
    except build.CompilerUnavailable as exc:
        pytest.skip(f"solc-js is not available: {exc}")
    built = build.compile_contracts(module)
    assert build.stale(built) == []


@pytest.mark.req("EVM-BUILD-1")
def test_committed_artifacts_were_built_from_the_committed_source() -> None:
    # Runs without a compiler: an edited .sol whose JSON was not rebuilt fails here.
    contracts = _SCRIPT.parents[1] / "gateway" / "chains" / "evm" / "contracts"
    names: tuple[ContractName, ...] = ("SpendingAuthority", "TestUSDC")
    for name in names:
        committed = json.loads((contracts / f"{name}.json").read_text(encoding="utf-8"))
        source = (contracts / f"{name}.sol").read_bytes()
        assert committed["sourceSha256"] == hashlib.sha256(source).hexdigest(), name
        assert load_artifact(name).bytecode == bytes.fromhex(committed["bytecode"][2:])
    errors = {i["name"] for i in load_artifact("SpendingAuthority").abi if i["type"] == "error"}
    assert {
        "PerTxCapExceeded",
        "CumulativeCapExceeded",
        "Expired",
        "Revoked",
        "NotPayee",
        "ReferenceUsed",
    } <= errors
