"""Every notebook runs top to bottom in a real Jupyter kernel, offline, and shows what it says.

Each notebook starts its own gateway (on the provider simulator and embedded chains) in a fresh
kernel of this interpreter; a cell that raises fails the test, and a few printed figures are
checked. The committed notebooks carry no outputs and match their sources in notebooks/src.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent.parent
NOTEBOOKS = ROOT / "notebooks"
CELL_TIMEOUT = 300  # seconds; the first cell imports the whole gateway
KERNEL = "bitrouter-test"

Checks = Callable[[str, list[str]], None]


def _kernel_dir(tmp: Path) -> Path:
    """A kernel spec that runs this very interpreter (the venv's), whatever is on PATH."""
    spec = tmp / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "bitrouter tests", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel))
    return tmp / "kernels"


def _run(name: str, tmp: Path) -> tuple[str, list[str]]:
    """Execute a notebook; its printed text and the MIME types it displayed."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    specs = KernelSpecManager(kernel_dirs=[str(_kernel_dir(tmp))])
    manager = AsyncKernelManager(kernel_name=KERNEL, kernel_spec_manager=specs)
    client = NotebookClient(
        nb,
        km=manager,
        timeout=CELL_TIMEOUT,
        startup_timeout=120,
        resources={"metadata": {"path": str(tmp)}},
    )
    # As Jupyter starts it: ipykernel would not capture the kernel's output streams under
    # pytest (its own tests' marker), leaving subprocesses a stderr without a file descriptor.
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    try:
        # The kernel manager is ours, so nbclient would leave the kernel running without this.
        client.execute(cleanup_kc=True, env=env)
    except CellExecutionError as failure:
        pytest.fail(f"{name}: a cell failed:\n{failure}", pytrace=False)
    printed: list[str] = []
    shown: list[str] = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output["output_type"] == "stream" and output["name"] == "stdout":
                printed.append(output["text"])
            elif output["output_type"] in ("execute_result", "display_data"):
                shown.extend(output["data"])
    return "".join(printed), shown


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text.encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            continue  # the process ended while we looked
    return found


def _getting_started(text: str, shown: list[str]) -> None:
    tokens, cost = map(int, re.search(r"answered with (\d+) tokens for (\d+) µUSD", text).groups())  # type: ignore[union-attr]
    assert tokens > 0 and cost > 0
    by_hand = re.search(r"cost by hand: (\d+) µUSD, charged: (\d+) µUSD", text)
    assert by_hand is not None and by_hand[1] == by_hand[2]
    assert re.search(r"→ \d+ µUSD, from \S+", text)
    assert "Solana:" in text and "EVM:    0x" in text
    onchain = "created and granted on solana" in text
    assert onchain or "continuing with the master key" in text
    home = re.search(r"^gateway home: (\S+)$", text, re.MULTILINE)
    assert home is not None and not Path(home[1]).exists()  # removed by gw.stop()
    assert _processes_mentioning(home[1]) == []  # no chain node left running for it
    assert shown.count("text/html") >= 4  # gateway, reply, balance, usage


def _routing(text: str, shown: list[str]) -> None:
    routed = re.search(r"routed to (.+?); the router's first choice was (.+)", text)
    assert routed is not None and routed[1] == routed[2]
    fastest = re.search(r"^sort=latency → (.+) \(fastest observed: (.+)\)$", text, re.MULTILINE)
    assert fastest is not None and fastest[1] == fastest[2]
    failovers = re.findall(r"call \d: (.+?) failed → served by (.+)", text)
    assert len(failovers) == 3 and all(broken != rescuer for broken, rescuer in failovers)
    assert "image/png" in shown  # the cost and latency chart


def _quotes(text: str, shown: list[str]) -> None:
    quoted = re.search(r"quoted at most (\d+) µUSD on (.+?); charged (\d+) µUSD on (.+)", text)
    assert quoted is not None and 0 < int(quoted[3]) <= int(quoted[1])
    assert quoted[2] == quoted[4]
    assert "20 quoted calls; charged above the quote: 0;" in text
    stopped = re.search(r"stopped after (\d+) calls: .*\(HTTP 402, (\w+)\)", text)
    assert stopped is not None and int(stopped[1]) >= 1
    spent = re.search(r"spent (\d+) µUSD of 2000", text)
    assert spent is not None and 0 < int(spent[1]) <= 2000
    assert "image/png" in shown  # quote vs actual


def _tools_and_agents(text: str, shown: list[str]) -> None:
    assert re.search(r"tool answered '.*invoice.*' for 200 µUSD", text, re.IGNORECASE)
    turn = re.search(r"agent turn: stop=end_turn, tool calls=(\d+), turn price=1000 µUSD", text)
    assert turn is not None and int(turn[1]) >= 1
    kinds = dict(re.findall(r"^(model|tool|agent): (\d+) µUSD", text, re.MULTILINE))
    assert kinds.keys() == {"model", "tool", "agent"}
    assert int(kinds["tool"]) == 400 and int(kinds["agent"]) == 1000  # two searches, one turn
    assert int(kinds["model"]) > 0  # the agent's model calls, charged to the caller
    assert "image/png" in shown


CASES: dict[str, Checks] = {
    "01-getting-started.ipynb": _getting_started,
    "02-routing.ipynb": _routing,
    "03-quotes.ipynb": _quotes,
    "04-tools-and-agents.ipynb": _tools_and_agents,
}


@pytest.mark.slow
@pytest.mark.req("NB-10")
@pytest.mark.parametrize("name", sorted(CASES))
def test_notebook_runs_offline_in_a_kernel(name: str, tmp_path: Path) -> None:
    text, shown = _run(name, tmp_path)
    CASES[name](text, shown)


@pytest.mark.req("NB-10")
def test_committed_notebooks_have_no_outputs_and_match_their_sources() -> None:
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(CASES)
    for name in CASES:
        nb: Any = nbformat.read(NOTEBOOKS / name, as_version=4)
        nbformat.validate(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, name
    spec = importlib.util.spec_from_file_location(
        "make_notebooks", ROOT / "scripts" / "make_notebooks.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--check"]) == 0
