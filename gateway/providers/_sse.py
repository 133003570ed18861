"""A small incremental Server-Sent Events decoder (the subset upstream LLM APIs use)."""

from __future__ import annotations

__all__ = ["SseDecoder"]


class SseDecoder:
    """Feed bytes as they arrive; get back complete ``(event, data)`` pairs."""

    __slots__ = ("_buffer", "_data", "_event")

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[bytes] = []
        self._event = ""

    def feed(self, chunk: bytes) -> list[tuple[str, bytes]]:
        """Every event completed by ``chunk``."""
        lines = (self._buffer + chunk).split(b"\n")
        self._buffer = lines.pop()
        events: list[tuple[str, bytes]] = []
        for line in lines:
            self._line(line, events)
        return events

    def flush(self) -> list[tuple[str, bytes]]:
        """The last event when the stream ended without a blank line after it."""
        events: list[tuple[str, bytes]] = []
        if self._buffer:
            self._line(self._buffer, events)
            self._buffer = b""
        self._line(b"", events)
        return events

    def _line(self, line: bytes, events: list[tuple[str, bytes]]) -> None:
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            if self._data:
                events.append((self._event, b"\n".join(self._data)))
            self._data = []
            self._event = ""
            return
        if line[0] == 0x3A:  # ":" starts a comment (keep-alive)
            return
        name, _, value = line.partition(b":")
        if value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            self._data.append(value)
        elif name == b"event":
            self._event = value.decode("utf-8", "replace")
