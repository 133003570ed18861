"""Real processes for the end-to-end tests: a provider simulator, gateways, a ledger check.

Every process is started with ``subprocess.Popen`` (the ``bitrouter`` command run as
``python -m gateway.cli``) and always stopped by the fixture that made it: SIGTERM, then SIGKILL
if it does not exit in time. Their output goes to a log file in the test's tmp_path, which a
failing test prints.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gateway.identity import Keystore
from tests.e2e.wire import request

PYTHON = sys.executable
START_TIMEOUT = 120.0  # a gateway imports a lot; on a busy two-core machine this takes a while
STOP_TIMEOUT = 30.0
MODEL = "sim-small"
# µUSD per million tokens: 1 µUSD per prompt token, 2 per completion token.
INPUT_PRICE_USD = 1.0
OUTPUT_PRICE_USD = 2.0
_LISTENING = re.compile(r"listening on (http://\S+?)[,\s]")


class _Process:
    """A child process whose combined output is copied to a log file by a reader thread."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args = args
        self.log = log
        self.lines: list[str] = []
        self.stopped_in: float | None = None  # seconds from SIGTERM to exit
        self._seen = threading.Condition()
        self.proc = subprocess.Popen(
            args,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        with self.log.open("a", encoding="utf-8") as out:
            for line in self.proc.stdout:
                out.write(line)
                out.flush()
                with self._seen:
                    self.lines.append(line)
                    self._seen.notify_all()
        with self._seen:
            self._seen.notify_all()

    def wait_for(self, pattern: re.Pattern[str], timeout: float = START_TIMEOUT) -> re.Match[str]:
        """The first output line matching ``pattern`` (AssertionError if the process ends or
        the time runs out first)."""
        checked = 0
        with self._seen:
            while True:
                for line in self.lines[checked:]:
                    if found := pattern.search(line):
                        return found
                checked = len(self.lines)
                if self.proc.poll() is not None and not self._reader.is_alive():
                    raise AssertionError(f"{self.args} exited: {self.tail()}")
                if not self._seen.wait(timeout):
                    raise AssertionError(f"{self.args} did not print {pattern.pattern}")

    def tail(self, lines: int = 30) -> str:
        """The last lines of output."""
        return "".join(self.lines[-lines:])

    @property
    def pid(self) -> int:
        """The process id."""
        return self.proc.pid

    def stop(self) -> int:
        """SIGTERM, then SIGKILL after ``STOP_TIMEOUT``; the exit status."""
        if self.proc.poll() is None:
            started = time.monotonic()
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT)
                self.stopped_in = time.monotonic() - started
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"{self.args} ignored SIGTERM for {STOP_TIMEOUT} s") from None
        self._close_output()
        return self.proc.returncode

    def _close_output(self) -> None:
        self._reader.join(STOP_TIMEOUT)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def kill9(self) -> None:
        """SIGKILL: a crash, as far as the process can tell."""
        self.proc.kill()
        self.proc.wait()
        self._close_output()


class SimulatorProcess(_Process):
    """``bitrouter sim --port 0 --json``: one simulator every gateway of a test shares."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        args = [PYTHON, "-m", "gateway.cli", "sim", "--port", "0", "--json"]
        super().__init__(args, env, log)
        self.url = self.wait_for(re.compile(r'"base_url": "(http://[^"]+)"')).group(1)

    async def stats(self) -> dict[str, Any]:
        """``GET /_sim/stats``."""
        body: dict[str, Any] = (await request(self.url, "GET", "/_sim/stats", "-")).json()
        return body

    async def chat_requests(self) -> int:
        """Chat requests that reached the simulator, refused ones included."""
        counts = (await self.stats())["requests"].values()
        return sum(routes.get("chat_completions", 0) for routes in counts)


class GatewayProcess(_Process):
    """``bitrouter serve --port 0`` on a home."""

    def __init__(self, home: Path, env: dict[str, str], log: Path, workers: int = 1) -> None:
        args = [PYTHON, "-m", "gateway.cli", "serve", "--port", "0", "--workers", str(workers)]
        super().__init__(args, {**env, "BITROUTER_HOME": str(home)}, log)
        self.url = ""

    def ready(self) -> GatewayProcess:
        """Wait until it listens; itself."""
        self.url = self.wait_for(_LISTENING).group(1)
        return self


def base_env() -> dict[str, str]:
    """The environment of a child: this one without provider keys or a gateway URL."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith(("_API_KEY", "_BASE_URL", "_API_BASE")) and k != "BITROUTER_URL"
    }
    env["PYTHONUNBUFFERED"] = "1"
    return env


def write_home(
    home: Path, simulator_url: str, *, database_url: str | None = None, **sections: Any
) -> Keystore:
    """A home whose gateways route ``sim-small`` to the shared simulator; its keystore."""
    config: dict[str, Any] = {
        "server": {"access_log": False},
        "simulator": {"mode": "off"},
        "providers": {
            "simx": {
                "api_base": f"{simulator_url}/p/simx/v1",
                "api_key": "sim-key",
                "protocol": "openai",
                "models": {
                    MODEL: {"input_price": INPUT_PRICE_USD, "output_price": OUTPUT_PRICE_USD}
                },
            }
        },
        **sections,
    }
    if database_url is not None:
        config["database"] = {"url": database_url}
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    (home / "bitrouter.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    keystore = Keystore(home)
    if not keystore.has_master():
        keystore.generate_master()
    return keystore


@dataclass
class Stack:
    """One test's processes; ``close`` stops every one of them."""

    tmp: Path
    env: dict[str, str] = field(default_factory=base_env)
    processes: list[_Process] = field(default_factory=list)

    def simulator(self) -> SimulatorProcess:
        """Start a simulator."""
        sim = SimulatorProcess(self.env, self.tmp / f"sim{len(self.processes)}.log")
        self.processes.append(sim)
        return sim

    def gateways(self, home: Path, count: int = 1, workers: int = 1) -> list[GatewayProcess]:
        """Start ``count`` gateways (of ``workers`` processes each) on ``home`` together, and
        wait until each listens."""
        started = []
        for _ in range(count):
            log = self.tmp / f"gateway{len(self.processes)}.log"
            gateway = GatewayProcess(home, self.env, log, workers)
            self.processes.append(gateway)
            started.append(gateway)
        return [g.ready() for g in started]

    def close(self) -> None:
        """Stop every process (each one, even when stopping another failed)."""
        problems = []
        for process in reversed(self.processes):
            try:
                process.stop()
            except AssertionError as exc:
                problems.append(str(exc))
        if problems:
            raise AssertionError("; ".join(problems))

    def logs(self) -> str:
        """Every process's last lines, for a failing test's report."""
        return "\n".join(
            f"--- {p.args[3:]} (pid {p.pid}, stopped in {p.stopped_in} s):\n{p.tail()}"
            for p in self.processes
        )


def ledger_check(home: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``bitrouter ledger check --json`` on ``home``."""
    return subprocess.run(
        [PYTHON, "-m", "gateway.cli", "ledger", "check", "--json"],
        env={**env, "BITROUTER_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
        check=False,
    )


def chat_body(text: str, max_tokens: int, *, stream: bool = False) -> dict[str, Any]:
    """A chat request for the simulated model."""
    body: dict[str, Any] = {
        "model": MODEL,
        "messages": [{"role": "user", "content": text}],
        "max_tokens": max_tokens,
    }
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def cost_of(prompt: int, completion: int) -> int:
    """µUSD the simulated model's prices charge for these tokens."""
    return prompt * int(INPUT_PRICE_USD) + completion * int(OUTPUT_PRICE_USD)


def check_report(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The JSON of a ``ledger check --json`` run (AssertionError with its output if absent)."""
    try:
        report: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise AssertionError(
            f"ledger check printed no report: {done.stdout}{done.stderr}"
        ) from None
    return report
