"""How the dashboard writes money, counts, times, addresses and bars (pure functions)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime

__all__ = ["bar", "bars", "count", "moment", "short", "usd"]

_EIGHTHS = " ▏▎▍▌▋▊▉"


def usd(micro: int | None) -> str:
    """µUSD as dollars, exact (no float): ``5000000`` → ``$5.00``, ``1234`` → ``$0.001234``."""
    if micro is None:
        return "unlimited"
    sign = "-" if micro < 0 else ""
    whole, frac = divmod(abs(micro), 1_000_000)
    cents = f"{frac:06d}".rstrip("0").ljust(2, "0")
    return f"{sign}${whole:,}.{cents}"


def count(value: int) -> str:
    """A count with thousands separators."""
    return f"{value:,}"


def moment(
    value: int | float | str | None, *, now: float | None = None, date_only: bool = False
) -> str:
    """A UTC time, short: ``HH:MM:SS`` today, ``MM-DD HH:MM`` this year, else ``YYYY-MM-DD``."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value[:16]
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    else:
        when = datetime.fromtimestamp(float(value), UTC)
    today = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    if date_only or when.year != today.year:
        return when.strftime("%Y-%m-%d")
    if when.date() == today.date():
        return when.strftime("%H:%M:%S")
    return when.strftime("%m-%d %H:%M")


def short(address: str, keep: int = 6) -> str:
    """A long address shortened to its ends: ``7xKXtg…9fQaZ1``."""
    if len(address) <= 2 * keep + 1:
        return address
    return f"{address[:keep]}…{address[-keep:]}"


def bar(value: int, largest: int, width: int) -> str:
    """A horizontal bar of ``width`` cells at most, in eighths of a cell, scaled to ``largest``."""
    if largest <= 0 or value <= 0 or width <= 0:
        return ""
    eighths = max(1, value * width * 8 // largest)
    full, part = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[part] if part else "")


def bars(rows: Sequence[tuple[str, int]], width: int) -> list[tuple[str, str]]:
    """``(label, bar)`` for each row, scaled so that the largest fills ``width``."""
    largest = max((value for _, value in rows), default=0)
    return [(label, bar(value, largest, width)) for label, value in rows]
