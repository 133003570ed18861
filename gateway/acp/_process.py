"""An ACP agent subprocess: JSON-RPC lines over its stdio, stopped with its whole process group.

The agent is started in a new session (its own process group), so that stopping it also stops
whatever it started (``npx`` runs ``node``, agents run tools): SIGTERM to the group, a short
wait, then SIGKILL to the group, always, and the leader is reaped. Nothing it leaves behind
survives the session.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path

import trio

from gateway.acp._jsonrpc import JsonObject, decode, encode
from gateway.acp._peer import PeerGone
from gateway.errors import UpstreamUnavailable

__all__ = ["AgentProcess"]

_log = logging.getLogger("bitrouter.acp")

# A message larger than this is a broken agent, not a big answer (images travel as base64).
_MAX_LINE_BYTES = 64 * 1024 * 1024
_TERM_WAIT_SECONDS = 2.0
_STDERR_LINE_CHARS = 300

Deliver = Callable[[JsonObject], Awaitable[None]]


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


class AgentProcess:
    """One agent subprocess; :meth:`run` it in a nursery, :meth:`send` it messages."""

    def __init__(
        self, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, name: str
    ) -> None:
        self._argv = list(argv)
        self._env = dict(env)
        self._cwd = cwd
        self.name = name
        self._process: trio.Process | None = None
        self._send_lock = trio.Lock()

    @property
    def pid(self) -> int | None:
        """The process id once started."""
        return self._process.pid if self._process is not None else None

    @property
    def exit_code(self) -> int | None:
        """The exit status once it has exited (negative: killed by that signal)."""
        return self._process.returncode if self._process is not None else None

    async def run(
        self, deliver: Deliver, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Start the agent, hand each message it writes to ``deliver`` in order, and return when
        its stdout closes. The process group is stopped on the way out, however it ends.

        Raises:
            UpstreamUnavailable: the command could not be started.
        """
        try:
            process = await trio.lowlevel.open_process(
                self._argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=self._env,
                cwd=self._cwd,
                start_new_session=True,
            )
        except OSError as exc:
            raise UpstreamUnavailable(
                f"the agent '{self.name}' could not be started: {exc.strerror or exc}",
                code="agent_unavailable",
            ) from None
        self._process = process
        assert process.stdout is not None and process.stderr is not None
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._drain_stderr, process.stderr)
                task_status.started()
                await self._read(process.stdout, deliver)
                with trio.move_on_after(_TERM_WAIT_SECONDS):
                    await process.wait()
                nursery.cancel_scope.cancel()
        finally:
            with trio.CancelScope(shield=True):
                await self._stop(process)

    async def send(self, message: JsonObject) -> None:
        """Write one message to the agent's stdin.

        Raises:
            PeerGone: the agent is not running (any more).
        """
        process = self._process
        if process is None or process.stdin is None:
            raise PeerGone(f"the agent '{self.name}' is not running")
        try:
            async with self._send_lock:
                await process.stdin.send_all(encode(message) + b"\n")
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise PeerGone(f"the agent '{self.name}' has exited") from None

    async def _read(self, stdout: trio.abc.ReceiveStream, deliver: Deliver) -> None:
        buffer = bytearray()
        async for chunk in stdout:
            buffer += chunk
            while (end := buffer.find(b"\n")) >= 0:
                line = bytes(buffer[:end])
                del buffer[: end + 1]
                if not line.strip():
                    continue
                message = decode(line)
                if message is None:
                    _log.warning("agent %s wrote a line that is not JSON-RPC", self.name)
                    continue
                await deliver(message)
            if len(buffer) > _MAX_LINE_BYTES:
                _log.warning("agent %s wrote a line over %d bytes", self.name, _MAX_LINE_BYTES)
                return

    async def _drain_stderr(self, stderr: trio.abc.ReceiveStream) -> None:
        # Always read it: an agent blocked on a full stderr pipe would look hung.
        pending = b""
        async for chunk in stderr:
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                text = line.decode("utf-8", "replace")[:_STDERR_LINE_CHARS]
                _log.debug("agent %s: %s", self.name, text)
            pending = pending[-_STDERR_LINE_CHARS:]

    async def _stop(self, process: trio.Process) -> None:
        if process.stdin is not None:
            await process.stdin.aclose()
        if process.returncode is None:
            _signal_group(process.pid, signal.SIGTERM)
            with trio.move_on_after(_TERM_WAIT_SECONDS):
                await process.wait()
        # Also when the leader has exited: whatever it started may still run in its group.
        _signal_group(process.pid, signal.SIGKILL)
        await process.wait()
