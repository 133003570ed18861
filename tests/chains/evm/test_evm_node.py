"""The embedded EVM node process and its journal."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.chains.evm.node import __main__ as node_main
from gateway.chains.evm.node._journal import Journal, JournalCorrupt, read_entries


@pytest.mark.req("EVM-NODE-3")
def test_node_deploys_on_first_start_and_exits_when_idle(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "gateway.chains.evm.node",
        "--state-dir",
        str(tmp_path),
        "--idle-seconds",
        "0.2",
    ]
    done = subprocess.run(command, capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode()
    contracts = json.loads((tmp_path / "contracts.json").read_text(encoding="utf-8"))
    assert set(contracts) == {"chain_id", "usdc", "authority", "deployer"}
    # It published where it listened, and took it back when it left.
    assert not (tmp_path / "node.json").exists()
    entries, _ = read_entries(tmp_path / "journal.jsonl")
    assert [entry["op"] for entry in entries] == ["genesis", "tx", "tx"]


def test_node_refuses_a_corrupt_journal_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "journal.jsonl").write_text('{"op": "genesis"}\nnot json\n{"op": "x"}\n')
    monkeypatch.setattr(sys, "argv", ["node", "--state-dir", str(tmp_path)])
    assert node_main.main() == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "cannot replay its journal" in lines[0] and "line 2" in lines[0]


def test_journal_drops_a_torn_last_line_and_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    journal = Journal(path)
    journal.append({"op": "genesis", "n": 1})
    journal.append({"op": "tx", "n": 2})
    journal.close()
    with open(path, "ab") as handle:
        handle.write(b'{"op": "tx", "n"')  # a crash in the middle of an append

    reopened = Journal(path)
    assert reopened.entries == [{"op": "genesis", "n": 1}, {"op": "tx", "n": 2}]
    reopened.append({"op": "tx", "n": 3})
    reopened.close()
    assert [e["n"] for e in read_entries(path)[0]] == [1, 2, 3]


def test_journal_refuses_a_damaged_middle_line(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_bytes(b'{"op": "genesis"}\n{"op": \n{"op": "tx"}\n')
    with pytest.raises(JournalCorrupt, match="line 2"):
        read_entries(path)
