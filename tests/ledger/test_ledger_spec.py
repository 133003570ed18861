"""Every requirement of specs/spending.md is proved by at least one tagged ledger test."""

from __future__ import annotations

import re
from pathlib import Path

HERE = Path(__file__).parent
SPEC = HERE.parent.parent / "specs" / "spending.md"


def test_every_spending_requirement_has_a_test_and_every_tag_a_requirement() -> None:
    ids = re.findall(r"^- \*\*(SPEND-\d+)\*\*", SPEC.read_text(encoding="utf-8"), re.MULTILINE)
    assert ids == [f"SPEND-{n}" for n in range(1, len(ids) + 1)]  # numbered without gaps
    tagged: set[str] = set()
    for path in HERE.glob("test_*.py"):
        tagged |= set(re.findall(r'req\("(SPEND-\d+)"\)', path.read_text(encoding="utf-8")))
    assert sorted(set(ids) - tagged) == []
    assert sorted(tagged - set(ids)) == []
