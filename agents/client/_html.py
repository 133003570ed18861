"""Small HTML for notebooks: tables, key/value cards and inline SVG bar charts (no plotting
library needed, so results render wherever a notebook is shown, nbviewer and GitHub included)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

__all__ = ["bars", "block", "cell", "fields", "note", "table", "usd"]

_STYLE = "font-family: system-ui, sans-serif; font-size: 13px; margin: 4px 0"
_CAPTION = "text-align: left; font-weight: 600; padding: 2px 0 6px"
_BAR = "#4c78a8"
_HIGHLIGHT = "#f58518"


def usd(micro_usd: int | None) -> str:
    """µUSD as dollars, exactly (``1125`` → ``$0.001125``); None → ``—``."""
    if micro_usd is None:
        return "—"
    return f"${Decimal(micro_usd).scaleb(-6):,.6f}"


def cell(value: Any) -> str:
    """One value as table text: thousands separators, ``—`` for nothing, ✓ for true."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "✓" if value else ""
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, list | tuple):
        return "; ".join(cell(v) for v in value)
    return str(value)


def _numeric(rows: Sequence[Sequence[Any]], index: int) -> bool:
    values = [row[index] for row in rows if row[index] is not None]
    return bool(values) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in values
    )


def table(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    title: str | None = None,
    max_rows: int = 50,
) -> str:
    """An HTML table; numeric columns are right-aligned; past ``max_rows`` a line says how many
    more there are."""
    right = [_numeric(rows, i) for i in range(len(columns))]
    head = "".join(
        f'<th style="text-align: {"right" if r else "left"}">{html.escape(c)}</th>'
        for c, r in zip(columns, right, strict=True)
    )
    body = []
    for row in rows[:max_rows]:
        tds = "".join(
            f'<td style="text-align: {"right" if r else "left"}">{html.escape(cell(v))}</td>'
            for v, r in zip(row, right, strict=True)
        )
        body.append(f"<tr>{tds}</tr>")
    caption = f'<caption style="{_CAPTION}">{html.escape(title)}</caption>' if title else ""
    out = f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    if len(rows) > max_rows:
        out += note(f"… and {len(rows) - max_rows:,} more rows (use .to_pandas() to see all)")
    return out


def fields(pairs: Sequence[tuple[str, Any]], *, title: str | None = None) -> str:
    """A two-column table of names and values."""
    rows = "".join(
        f'<tr><th style="text-align: left">{html.escape(k)}</th>'
        f'<td style="text-align: left">{html.escape(cell(v))}</td></tr>'
        for k, v in pairs
    )
    caption = f'<caption style="{_CAPTION}">{html.escape(title)}</caption>' if title else ""
    return f"<table>{caption}<tbody>{rows}</tbody></table>"


def note(text: str) -> str:
    """A muted line of text."""
    return f'<div style="color: #666; margin: 4px 0">{html.escape(text)}</div>'


def bars(
    items: Sequence[tuple[str, int]],
    *,
    title: str,
    unit: str = "µUSD",
    highlight: str | None = None,
) -> str:
    """A horizontal bar chart as inline SVG (one bar per ``(label, value)``; ``highlight`` is
    drawn in another colour)."""
    if not items:
        return ""
    label_w, bar_w, row_h, top = 190, 220, 20, 22
    width = label_w + bar_w + 110
    height = top + row_h * len(items) + 4
    peak = max(max(v for _, v in items), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" style="font: 12px system-ui, sans-serif">'
        f"<title>{html.escape(title)}</title>"
        f'<text x="0" y="14" font-weight="600">{html.escape(title)}</text>'
    ]
    for i, (label, value) in enumerate(items):
        y = top + i * row_h
        length = max(1, round(bar_w * max(value, 0) / peak)) if value > 0 else 0
        colour = _HIGHLIGHT if label == highlight else _BAR
        short = label if len(label) <= 28 else label[:27] + "…"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">{html.escape(short)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{length}" height="{row_h - 6}" '
            f'fill="{colour}"/>'
            f'<text x="{label_w + length + 4}" y="{y + 13}">{value:,} {html.escape(unit)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def block(*parts: str) -> str:
    """The parts in one styled container."""
    return f'<div style="{_STYLE}">{"".join(p for p in parts if p)}</div>'
