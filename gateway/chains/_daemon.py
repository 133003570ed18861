"""Embedded chain nodes as background processes shared by the CLI and the server.

An embedded node (Solana over LiteSVM, EVM over py-evm) keeps its state in the home and answers
JSON-RPC on loopback, so that separate processes (``bitrouter swig …`` and ``bitrouter serve``)
see one chain. Whoever needs a node first starts it; the others find it through
``chains/<name>/node.json``. A file lock makes the start race-free; the node exits by itself after
an idle period, and ``stop_node`` ends it at once. The node module is run as
``python -m <module> --state-dir DIR --idle-seconds S`` and must write ``node.json``
(``{"pid": …, "url": …}``) once it listens.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from gateway.errors import ChainError

__all__ = [
    "ensure_node",
    "ever_started",
    "node_dir",
    "pid_alive",
    "running_node",
    "stop_node",
    "write_node_file",
]

_START_TIMEOUT = 30.0


def node_dir(home: Path, name: str) -> Path:
    """The state folder of the embedded node ``name`` (created, mode 0700)."""
    path = home / "chains" / name
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def ever_started(home: Path, name: str) -> bool:
    """Whether node ``name`` was ever started in ``home`` (its log exists; nothing is created)."""
    return (home / "chains" / name / "node.log").exists()


def write_node_file(state_dir: Path, url: str) -> None:
    """Called by a node once it listens: publish its pid and URL atomically."""
    tmp = state_dir / "node.json.tmp"
    tmp.write_text(json.dumps({"pid": os.getpid(), "url": url}), encoding="utf-8")
    os.replace(tmp, state_dir / "node.json")


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (an exited child nobody reaped yet, a zombie, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def running_node(home: Path, name: str) -> str | None:
    """The URL of the running node ``name``, or None."""
    info = node_dir(home, name) / "node.json"
    try:
        data = json.loads(info.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    pid, url = data.get("pid"), data.get("url")
    if isinstance(pid, int) and isinstance(url, str) and pid_alive(pid):
        return url
    return None


@contextlib.contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    with open(state_dir / "node.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_node(home: Path, name: str, module: str, idle_seconds: float = 900.0) -> str:
    """The URL of node ``name``, starting ``python -m module`` in the background if needed."""
    state_dir = node_dir(home, name)
    with _locked(state_dir):
        url = running_node(home, name)
        if url is not None:
            return url
        (state_dir / "node.json").unlink(missing_ok=True)
        # Started through a shell that exits at once, so the node is re-parented and never
        # becomes a zombie of a long-lived caller (the server) that does not wait for it.
        argv = [
            sys.executable,
            "-m",
            module,
            "--state-dir",
            str(state_dir),
            "--idle-seconds",
            str(idle_seconds),
        ]
        subprocess.run(
            ["/bin/sh", "-c", 'exec "$@" </dev/null >>"$LOG" 2>&1 &', "sh", *argv],
            env={**os.environ, "LOG": str(state_dir / "node.log")},
            check=True,
            start_new_session=True,
        )
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            url = running_node(home, name)
            if url is not None:
                return url
            time.sleep(0.05)
    raise ChainError(f"the embedded {name} node did not start; see {state_dir / 'node.log'}")


def stop_node(home: Path, name: str) -> bool:
    """Stop node ``name`` if it runs; True if one was stopped."""
    info = node_dir(home, name) / "node.json"
    try:
        pid = int(json.loads(info.read_text(encoding="utf-8"))["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if not pid_alive(pid):
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while pid_alive(pid) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # a node this process started itself
        time.sleep(0.05)
    return True
