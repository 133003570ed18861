"""Wall-clock time, behind a Protocol so tests can set it."""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["Clock", "SystemClock"]


class Clock(Protocol):
    """Unix time in seconds."""

    def now(self) -> float:
        """The current unix time."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> float:
        """``time.time()``."""
        return time.time()
