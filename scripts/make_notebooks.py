"""Write ``notebooks/*.ipynb`` from their sources in ``notebooks/src/*.py``.

The sources are plain Python in the "percent" format (``# %%`` starts a code cell,
``# %% [markdown]`` a Markdown cell whose lines are comments), easy to read and review; the
notebooks are generated from them without outputs, with stable cell ids, so a regenerated
notebook only changes where its source did.

    python scripts/make_notebooks.py           # write the notebooks
    python scripts/make_notebooks.py --check   # exit 1 if a notebook differs from its source
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "notebooks" / "src"
NOTEBOOKS = ROOT / "notebooks"
_CELL = re.compile(r"^# %%( \[markdown\])?[ \t]*$", re.MULTILINE)
_METADATA = {
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def _trim(lines: list[str]) -> list[str]:
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def cells(source: str) -> list[tuple[str, str]]:
    """``(kind, text)`` of each cell of a percent-format source."""
    marks = list(_CELL.finditer(source))
    out: list[tuple[str, str]] = []
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(source)
        lines = source[mark.end() : end].split("\n")
        if mark.group(1):
            lines = [re.sub(r"^# ?", "", line) for line in lines]
            out.append(("markdown", "\n".join(_trim(lines))))
        else:
            out.append(("code", "\n".join(_trim(lines))))
    return out


def notebook(stem: str, source: str) -> dict[str, Any]:
    """The notebook (nbformat 4.5, no outputs) of one source."""
    made: list[dict[str, Any]] = []
    for index, (kind, text) in enumerate(cells(source)):
        lines = text.split("\n")
        cell: dict[str, Any] = {
            "cell_type": kind,
            "id": f"{stem[:2]}-{index:02d}",
            "metadata": {},
            "source": [line + "\n" for line in lines[:-1]] + lines[-1:],
        }
        if kind == "code":
            cell["execution_count"] = None
            cell["outputs"] = []
        made.append(cell)
    return {"cells": made, "metadata": _METADATA, "nbformat": 4, "nbformat_minor": 5}


def render(stem: str) -> str:
    """The text of ``notebooks/{stem}.ipynb`` as generated."""
    source = (SOURCES / f"{stem}.py").read_text(encoding="utf-8")
    return json.dumps(notebook(stem, source), indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    """Write (or with ``--check``, compare) every notebook; the exit status."""
    check = "--check" in argv
    stale = []
    for path in sorted(SOURCES.glob("*.py")):
        target = NOTEBOOKS / f"{path.stem}.ipynb"
        text = render(path.stem)
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == text:
            continue
        if check:
            stale.append(target.name)
        else:
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target.relative_to(ROOT)}")
    if stale:
        print(f"out of date (run scripts/make_notebooks.py): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
