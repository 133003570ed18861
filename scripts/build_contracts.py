"""Compile the EVM contracts and write (or check) their committed ABI + bytecode JSON.

The gateway never compiles at run time: ``gateway/chains/evm/contracts/<Name>.json`` is committed
next to ``<Name>.sol``. This script rebuilds those files with solc-js (npm ``solc``, pinned below),
installed with npm into a cache folder outside the repository.

    python scripts/build_contracts.py            # rewrite the JSON files
    python scripts/build_contracts.py --check    # exit 1 if they differ from a fresh compile

Exit codes: 0 ok, 1 the committed JSON is stale, 2 no compiler could be installed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

SOLC_VERSION = "0.8.28"
CONTRACTS_DIR = Path(__file__).resolve().parent.parent / "gateway" / "chains" / "evm" / "contracts"
CONTRACTS = ("SpendingAuthority", "TestUSDC")
# Cancun is what both py-evm (embedded chain) and Tempo execute; solc 0.8.28 defaults to it too.
SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "cancun",
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
}
_COMPILE_JS = """
const solc = require(process.argv[1]);
let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const output = JSON.parse(solc.compile(input));
  process.stdout.write(JSON.stringify({version: solc.version(), output}));
});
"""


class CompilerUnavailable(RuntimeError):
    """solc-js could not be found or installed."""


def default_cache_dir() -> Path:
    """Where solc-js is installed unless told otherwise (outside the repository)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bitrouter" / f"solc-{SOLC_VERSION}"


def solc_module(cache_dir: Path) -> Path:
    """The solc package folder inside ``cache_dir``."""
    return cache_dir / "node_modules" / "solc"


def install_solc(cache_dir: Path, timeout: float = 180.0) -> Path:
    """Install solc-js into ``cache_dir`` with npm (if not already there); its package folder."""
    module = solc_module(cache_dir)
    if (module / "package.json").is_file():
        return module
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise CompilerUnavailable("node and npm are needed to install solc-js")
    cache_dir.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(
            [
                npm,
                "install",
                "--prefix",
                str(cache_dir),
                "--no-audit",
                "--no-fund",
                "--silent",
                f"solc@{SOLC_VERSION}",
            ],
            check=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            capture_output=True,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        raise CompilerUnavailable(f"npm could not install solc@{SOLC_VERSION}: {exc}") from exc
    if not (module / "package.json").is_file():
        raise CompilerUnavailable(f"npm did not install solc@{SOLC_VERSION}")
    return module


def _sources() -> dict[str, str]:
    return {
        f"{name}.sol": (CONTRACTS_DIR / f"{name}.sol").read_text(encoding="utf-8")
        for name in CONTRACTS
    }


def compile_contracts(module: Path, timeout: float = 120.0) -> dict[str, dict[str, Any]]:
    """Compile every contract with the solc-js at ``module``: name → the JSON to commit."""
    sources = _sources()
    standard_input = {
        "language": "Solidity",
        "sources": {path: {"content": text} for path, text in sources.items()},
        "settings": SETTINGS,
    }
    node = shutil.which("node")
    if node is None:
        raise CompilerUnavailable("node is needed to run solc-js")
    done = subprocess.run(
        [node, "-e", _COMPILE_JS, str(module)],
        input=json.dumps(standard_input),
        capture_output=True,
        text=True,
        check=True,
        timeout=timeout,
    )
    result = json.loads(done.stdout)
    errors = [e for e in result["output"].get("errors", []) if e["severity"] == "error"]
    if errors:
        raise SystemExit("\n".join(e["formattedMessage"] for e in errors))
    built: dict[str, dict[str, Any]] = {}
    for name in CONTRACTS:
        path = f"{name}.sol"
        contract = result["output"]["contracts"][path][name]
        built[name] = {
            "contractName": name,
            "source": path,
            "sourceSha256": hashlib.sha256(sources[path].encode()).hexdigest(),
            "compiler": f"solc-js {result['version']}",
            "settings": {k: v for k, v in SETTINGS.items() if k != "outputSelection"},
            "abi": contract["abi"],
            "bytecode": "0x" + contract["evm"]["bytecode"]["object"],
        }
    return built


def render(artifact: dict[str, Any]) -> str:
    """The exact text committed for one artifact."""
    return json.dumps(artifact, indent=1, sort_keys=True) + "\n"


def stale(built: dict[str, dict[str, Any]]) -> list[str]:
    """The contract names whose committed JSON differs from ``built``."""
    names = []
    for name, artifact in built.items():
        path = CONTRACTS_DIR / f"{name}.json"
        if not path.is_file() or path.read_text(encoding="utf-8") != render(artifact):
            names.append(name)
    return names


def main() -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare, write nothing")
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    args = parser.parse_args()
    try:
        built = compile_contracts(install_solc(args.cache_dir))
    except CompilerUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    names = stale(built)
    if args.check:
        for name in names:
            print(f"stale: {CONTRACTS_DIR / name}.json (run scripts/build_contracts.py)")
        return 1 if names else 0
    for name in names:
        (CONTRACTS_DIR / f"{name}.json").write_text(render(built[name]), encoding="utf-8")
        print(f"wrote {CONTRACTS_DIR / name}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
