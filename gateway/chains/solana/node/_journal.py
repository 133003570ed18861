"""The node's append-only journal: every state change, durable before it is answered.

One JSON object per line. ``{"k": "tx", "t": UNIX, "b": BASE64}`` is a transaction executed at
chain time ``t``; ``{"k": "clock", "t": UNIX, "o": OFFSET}`` is a clock move (``o`` = chain time
minus wall time). Replaying the lines in order into a fresh LiteSVM rebuilds the exact state,
because LiteSVM is deterministic for a given sequence of inputs (see ``_ledger``).

Writes are group-committed: a change is written and applied at once (synchronously, so the file
order is the order the chain saw), and its caller then waits for an fsync that covers it. One
fsync covers every line written before it, so concurrent writers share it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import trio

__all__ = ["Journal", "JournalCorrupt"]


class JournalCorrupt(RuntimeError):
    """A journal line other than the last one is unreadable: refuse to guess the state."""


class Journal:
    """Append-only JSON-lines file with group-committed fsync."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd = -1
        self._written = 0
        self._synced = 0
        self._syncing: trio.Event | None = None
        self._limiter = trio.CapacityLimiter(1)

    def read(self) -> list[dict[str, Any]]:
        """Every complete entry; a torn last line (a crash mid-write) is cut off the file."""
        try:
            raw = self._path.read_bytes()
        except FileNotFoundError:
            return []
        complete = raw[: raw.rfind(b"\n") + 1]
        if len(complete) != len(raw):
            # Only a line being written when the process died can be partial; its change was
            # never answered (answers wait for fsync), so dropping it loses nothing promised.
            with open(self._path, "r+b") as handle:
                handle.truncate(len(complete))
        entries: list[dict[str, Any]] = []
        for number, line in enumerate(complete.splitlines(), start=1):
            try:
                entry = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise JournalCorrupt(f"{self._path}: line {number} is not JSON") from exc
            if not isinstance(entry, dict) or entry.get("k") not in ("tx", "clock"):
                raise JournalCorrupt(f"{self._path}: line {number} is not a journal entry")
            entries.append(entry)
        return entries

    def open(self) -> None:
        """Open for appending (mode 0600); make the file's existence durable too."""
        self._fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        folder = os.open(self._path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)

    def write(self, entry: dict[str, Any]) -> int:
        """Append one entry (not yet durable); its sequence number for :meth:`durable`."""
        data = orjson.dumps(entry) + b"\n"
        if os.write(self._fd, data) != len(data):
            raise OSError(f"short write to {self._path}")
        self._written += 1
        return self._written

    async def durable(self, sequence: int) -> None:
        """Return once entry ``sequence`` and all before it are on disk."""
        while self._synced < sequence:
            if self._syncing is not None:
                await self._syncing.wait()
                continue
            done = self._syncing = trio.Event()
            target = self._written
            try:
                with trio.CancelScope(shield=True):
                    await trio.to_thread.run_sync(os.fsync, self._fd, limiter=self._limiter)
                self._synced = max(self._synced, target)
            finally:
                self._syncing = None
                done.set()

    def close(self) -> None:
        """Close the file."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
