"""Errors out of task groups: a group of one error is re-raised as that error."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import anyio

__all__ = ["run_in_thread", "single_errors"]

_T = TypeVar("_T")


@contextmanager
def single_errors() -> Iterator[None]:
    """Task groups wrap every error in a group; callers want the one error that happened."""
    try:
        yield
    except BaseExceptionGroup as group:
        inner: BaseException = group
        while isinstance(inner, BaseExceptionGroup) and len(inner.exceptions) == 1:
            inner = inner.exceptions[0]
        if isinstance(inner, BaseExceptionGroup) or not isinstance(inner, Exception):
            raise
        raise inner from None


def run_in_thread(work: Callable[[], Awaitable[_T]]) -> _T:
    """Run ``work`` in a thread of its own with a fresh event loop, and wait for it.

    The sync client uses this for the protocols whose clients are async only (MCP, ACP); a
    thread keeps it working when the calling thread already runs a loop (a Jupyter kernel).
    """
    outcome: list[_T] = []
    failure: list[BaseException] = []

    async def main() -> None:
        outcome.append(await work())

    def target() -> None:
        try:
            anyio.run(main, backend="asyncio")
        except BaseException as exc:  # handed to the waiting thread, which raises it
            failure.append(exc)

    thread = threading.Thread(target=target, name="bitrouter-client", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]
