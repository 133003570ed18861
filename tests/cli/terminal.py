"""A program in an 80×24 pseudo-terminal, its screen emulated by pyte: keys in, screen out."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import pexpect
import pyte

from gateway.setup import ServerProcess

KEYS = {"up": "\x1b[A", "down": "\x1b[B", "enter": "\r", "ctrl-c": "\x03", "ctrl-u": "\x15"}

# The command line without the _app module (which the integrator owns): the commands under
# test, plus what they call, registered on a bare typer app with the same error handling.
CLI = """
import sys, typer
from gateway.cli import _account, _daemon, _dashboard, _first, _init, _keygen, _serve, _sim
from gateway.errors import GatewayError
app = typer.Typer(pretty_exceptions_enable=False, add_completion=False)
for module in (_first, _serve, _sim, _account, _keygen, _init, _daemon, _dashboard):
    module.register(app)
try:
    app()
except GatewayError as exc:
    print(f"bitrouter: {exc.message}", file=sys.stderr)
    raise SystemExit(1) from None
except KeyboardInterrupt:
    print("bitrouter: interrupted", file=sys.stderr)
    raise SystemExit(130) from None
"""


def bitrouter(*args: str) -> list[str]:
    """The argv of ``bitrouter ARGS…`` in this interpreter."""
    return [sys.executable, "-c", CLI, *args]


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a CLI run: this home, no provider keys of the machine, ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith(("_API_KEY", "_BASE_URL", "_API_BASE")) and k != "BITROUTER_URL"
    }
    return {**env, "BITROUTER_HOME": str(home), "TERM": "xterm-256color", **extra}


class Terminal:
    """``argv`` running in a pseudo-terminal of ``cols``×``rows``."""

    def __init__(
        self, argv: list[str], env: Mapping[str, str], cwd: Path, rows: int = 24, cols: int = 80
    ) -> None:
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.transcript = b""
        # pyte answers the terminal queries (cursor position) the program sends, as a real
        # terminal would.
        self.screen.write_process_input = self._reply
        self.child = pexpect.spawn(
            argv[0], argv[1:], env=dict(env), cwd=str(cwd), dimensions=(rows, cols)
        )

    def _reply(self, data: str) -> None:
        self.child.send(data.encode())

    def text(self) -> str:
        """The screen as it shows now."""
        return "\n".join(line.rstrip() for line in self.screen.display)

    def _pump(self, timeout: float) -> bool:
        try:
            data = self.child.read_nonblocking(65536, timeout=timeout)
        except pexpect.TIMEOUT:
            return True
        except pexpect.EOF:
            return False
        self.transcript += data
        self.stream.feed(data)
        return True

    def _settle(self) -> None:
        # A frame is drawn in several writes: read until the program pauses, so that the
        # screen is whole.
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            before = len(self.transcript)
            if not self._pump(0.25) or len(self.transcript) == before:
                return

    def wait_for(self, want: str | Callable[[str], bool], timeout: float = 60.0) -> str:
        """Read output until the screen shows ``want`` (or ``want(screen)`` is true)."""
        check = want if callable(want) else (lambda screen: want in screen)
        deadline = time.monotonic() + timeout
        while True:
            if check(self.text()):
                self._settle()
                if check(self.text()):
                    return self.text()
            alive = self._pump(0.2)
            if not alive and not check(self.text()):
                raise AssertionError(f"the program ended before showing {want!r}:\n{self.text()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"the screen never showed {want!r}:\n{self.text()}")

    def press(self, *keys: str) -> None:
        """Send named keys (``down``, ``enter``, ``ctrl-c``…) or plain text."""
        for key in keys:
            self.child.send(KEYS.get(key, key))

    def close(self) -> None:
        """End the program if it still runs, and release the terminal."""
        self.child.close(force=True)

    def wait_exit(self, timeout: float = 60.0) -> int:
        """Read until the program ends; its exit status."""
        deadline = time.monotonic() + timeout
        while self._pump(0.2):
            if time.monotonic() > deadline:
                self.child.terminate(force=True)
                raise AssertionError(f"the program did not end:\n{self.text()}")
        self.child.close()
        status = self.child.exitstatus
        return status if status is not None else 128 + (self.child.signalstatus or 0)


ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_cli(
    *args: str, env: Mapping[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``bitrouter ARGS…`` without a terminal; its exit status and output."""
    return subprocess.run(
        bitrouter(*args),
        env=dict(env),
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def gone(pid: int) -> bool:
    """The process ended (an ended one may linger as a zombie until init reaps it)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def stop_everything(*homes: Path) -> None:
    """Stop what a test may have left running in these homes: servers and embedded chain nodes."""
    for home in homes:
        ServerProcess(home, "http://127.0.0.1:1").stop()
        for node in home.glob("chains/*/node.json"):
            with contextlib.suppress(ValueError, KeyError, OSError):
                os.kill(int(json.loads(node.read_text())["pid"]), signal.SIGTERM)
