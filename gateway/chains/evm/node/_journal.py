"""The node's append-only journal: every state change, durable before it is acknowledged.

py-evm keeps its state in memory only, so the node records each state-changing call (a raw
transaction with the timestamp of the block that mined it, a clock move) as one JSON line and
replays the file on start. Replaying the same lines in order rebuilds the same chain.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["Journal", "JournalCorrupt", "read_entries"]


class JournalCorrupt(Exception):
    """A journal line other than a torn last one cannot be read."""


def read_entries(path: Path) -> tuple[list[dict[str, Any]], int]:
    """The complete entries of the journal at ``path`` and the byte length they span.

    A crash mid-append leaves a torn last line (no newline yet); its change was never
    acknowledged, so it is left out (and ``Journal`` cuts it off). Any other unreadable line
    raises JournalCorrupt.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return [], 0
    *complete, tail = raw.split(b"\n")
    entries: list[dict[str, Any]] = []
    for number, line in enumerate(complete, start=1):
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if not isinstance(entry, dict):
            raise JournalCorrupt(f"{path}: line {number} is not a journal entry")
        entries.append(entry)
    return entries, len(raw) - len(tail)


class Journal:
    """A JSON-lines file opened for appending; ``append`` returns once the line is on disk."""

    def __init__(self, path: Path) -> None:
        self._entries, length = read_entries(path)
        self._handle = open(path, "ab")  # noqa: SIM115 - held open for the node's lifetime
        self._handle.truncate(length)

    @property
    def entries(self) -> list[dict[str, Any]]:
        """The entries found when the journal was opened."""
        return list(self._entries)

    def append(self, entry: dict[str, Any]) -> None:
        """Write ``entry`` as one line and fsync it."""
        self._handle.write(json.dumps(entry, separators=(",", ":")).encode() + b"\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        """Close the file."""
        self._handle.close()
