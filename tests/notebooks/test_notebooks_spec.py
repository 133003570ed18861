"""Every requirement of specs/notebooks.md is proved by at least one tagged test."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
TESTS = [
    ROOT / "tests" / "inprocess",
    ROOT / "tests" / "agents" / "client",
    ROOT / "tests" / "notebooks",
]


def test_every_notebook_requirement_has_a_test_and_every_tag_a_requirement() -> None:
    spec = (ROOT / "specs" / "notebooks.md").read_text(encoding="utf-8")
    ids = re.findall(r"^- \*\*\[(NB-\d+)\]", spec, re.MULTILINE)
    assert ids == [f"NB-{n}" for n in range(1, len(ids) + 1)]  # numbered without gaps
    tagged: set[str] = set()
    for folder in TESTS:
        for path in folder.glob("test_*.py"):
            tagged |= set(re.findall(r'req\("(NB-\d+)"\)', path.read_text(encoding="utf-8")))
    assert sorted(set(ids) - tagged) == []
    assert sorted(tagged - set(ids)) == []
