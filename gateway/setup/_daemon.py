"""The gateway server as a background process of the home: start, find, check and stop it.

``bitrouter`` and ``bitrouter init`` start ``python -m gateway.cli serve`` detached (its own
session, re-parented to init so no caller ever has to reap it), with its pid in
``bitrouter.pid`` and its output in ``logs/gateway.log``. A lock file makes a concurrent start
race-free. Blocking (files, ``time.sleep`` polling, sync HTTP): call it from a CLI, not from trio.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from gateway.chains._daemon import pid_alive
from gateway.errors import GatewayError
from gateway.setup._files import write_atomic

__all__ = ["PID_FILE", "ServerProcess", "ServerStatus", "check_health"]

PID_FILE = "bitrouter.pid"
_LOG_LIMIT = 10 * 1024 * 1024  # rotate the log at start once it passes 10 MB
_POLL = 0.1


def check_health(url: str, timeout: float = 2.0) -> dict[str, Any] | None:
    """``GET {url}/health``'s JSON when it answers 200 with ``status: ok``, else None."""
    try:
        with httpx.Client(timeout=timeout, trust_env=False) as client:
            response = client.get(f"{url.rstrip('/')}/health")
        body = response.json()
    except (httpx.HTTPError, ValueError):
        return None
    if response.status_code != 200 or not isinstance(body, dict) or body.get("status") != "ok":
        return None
    return body


def _is_gateway(pid: int) -> bool:
    # The pid file may outlive its process and the pid be reused by an unrelated program.
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
    except OSError:
        return True  # no /proc: trust the pid file
    return b"gateway.cli" in cmdline


@dataclass(frozen=True, slots=True)
class ServerStatus:
    """Whether this home's background server runs, and whether ``url`` answers its health check."""

    url: str
    pid: int | None
    health: dict[str, Any] | None
    log_path: Path

    @property
    def running(self) -> bool:
        """A server started for this home is alive."""
        return self.pid is not None

    @property
    def healthy(self) -> bool:
        """Something answers ``/health`` at the URL (this home's server or a foreground one)."""
        return self.health is not None

    def to_json(self) -> dict[str, Any]:
        """The ``bitrouter status --json`` object."""
        return {
            "running": self.running,
            "healthy": self.healthy,
            "pid": self.pid,
            "url": self.url,
            "health": self.health,
            "log": str(self.log_path),
        }


class ServerProcess:
    """The background server of one home, reached at ``url``."""

    def __init__(self, home: Path, url: str, *, command: Sequence[str] | None = None) -> None:
        self.home = home
        self.url = url.rstrip("/")
        self.command = list(command or (sys.executable, "-m", "gateway.cli", "serve"))
        self.pid_path = home / PID_FILE
        self.lock_path = home / f"{PID_FILE}.lock"
        self.log_path = home / "logs" / "gateway.log"

    def pid(self) -> int | None:
        """The pid of this home's running server, or None (a stale pid file is removed)."""
        try:
            pid = int(self.pid_path.read_text(encoding="ascii").strip())
        except (OSError, ValueError):
            return None
        if pid_alive(pid) and _is_gateway(pid):
            return pid
        self.pid_path.unlink(missing_ok=True)
        return None

    def status(self) -> ServerStatus:
        """The pid (if running) and the health check's answer (if any)."""
        return ServerStatus(self.url, self.pid(), check_health(self.url), self.log_path)

    def start(self, timeout: float = 60.0) -> ServerStatus:
        """Start the server unless it runs; wait until its health check passes.

        Raises:
            GatewayError: another program holds the address, or the server exited or did not
                answer in time (the message names the log file).
        """
        with self._locked():
            pid = self.pid()
            if pid is None:
                if check_health(self.url) is not None:
                    raise GatewayError(
                        f"another server (not started by bitrouter for {self.home}) already "
                        f"answers at {self.url}; stop it or choose another address"
                    )
                pid = self._spawn()
            return self._wait_healthy(pid, timeout)

    def stop(self, timeout: float = 15.0) -> int | None:
        """Stop the server (SIGTERM, then SIGKILL after ``timeout``); its pid, or None."""
        with self._locked():
            pid = self.pid()
            if pid is None:
                return None
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(_POLL / 2)
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
                while pid_alive(pid):
                    time.sleep(_POLL / 2)
            self.pid_path.unlink(missing_ok=True)
            return pid

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(self.lock_path, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _open_log(self) -> None:
        self.log_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            if self.log_path.stat().st_size > _LOG_LIMIT:
                os.replace(self.log_path, self.log_path.with_name("gateway.log.1"))
        os.close(os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))

    def _spawn(self) -> int:
        self._open_log()
        # The shell starts the server in the background and exits at once, so the server is
        # re-parented to init: a long-lived caller (the dashboard) never leaves a zombie.
        script = 'log=$1; shift; "$@" </dev/null >>"$log" 2>&1 & echo $!'
        env = {**os.environ, "BITROUTER_HOME": str(self.home)}
        try:
            out = subprocess.run(
                ["/bin/sh", "-c", script, "sh", str(self.log_path), *self.command],
                env=env,
                capture_output=True,
                text=True,
                check=True,
                start_new_session=True,
            )
            pid = int(out.stdout.strip())
        except (OSError, subprocess.CalledProcessError, ValueError):
            raise GatewayError("cannot start the server process") from None
        write_atomic(self.pid_path, f"{pid}\n".encode("ascii"), mode=0o600)
        return pid

    def _wait_healthy(self, pid: int, timeout: float) -> ServerStatus:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            health = check_health(self.url, timeout=1.0)
            if health is not None and pid_alive(pid):
                return ServerStatus(self.url, pid, health, self.log_path)
            if not pid_alive(pid):
                self.pid_path.unlink(missing_ok=True)
                raise GatewayError(f"the server exited: {self._last_log_line()}")
            time.sleep(_POLL)
        raise GatewayError(
            f"the server did not answer at {self.url} within {timeout:.0f}s; see {self.log_path}"
        )

    def _last_log_line(self) -> str:
        try:
            lines = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            lines = []
        last = next((line.strip() for line in reversed(lines) if line.strip()), "")
        return f"{last[:200]} (log: {self.log_path})" if last else f"see {self.log_path}"
