"""Benchmark the gateway's overhead over calling the upstream directly, full path switched on.

    python scripts/bench_gateway.py [--reps 2] [--duration 5] [--ledger-dir /dev/shm]
                                    [--no-token-cache] [--no-hop] [--hold] [-- RUN.SH OPTIONS]

It builds a throwaway home (a provider ``bench`` on the fake upstream of ``../shared/bench``,
simulator off, a master key and an api token), starts ``bitrouter serve`` (one worker) on a free
port, starts the nginx reference hop, and runs ``../shared/bench/run.sh --compare`` with the
gateway's process tree watched. Every request goes through token verification, routing, the
ledger's reservation and charge (SQLite in the home) and metering. The output (and the raw
results of run.sh) land in a fresh temporary directory, printed at the end, with the load
average before and after (the machine is shared: read the figures next to it).

``--ledger-dir /dev/shm`` puts the ledger on tmpfs, which takes the disk's fsync out of each
charge; ``--no-token-cache`` verifies every token's signature on every request. Other arguments
after ``--`` go to run.sh unchanged (``-- --no-stream``, ``-- --conc 1,64``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

from gateway.identity import Keystore, mint_token

_ROOT = Path(__file__).resolve().parent.parent
_BENCH = Path(os.environ.get("BENCH_DIR", _ROOT.parent / "shared" / "bench"))


def _config(port: int, token_cache: bool, ledger: Path | None) -> dict[str, object]:
    prices = {"input_price": 1.0, "output_price": 2.0}  # USD per million tokens
    database = {"url": f"sqlite:///{ledger}"} if ledger is not None else {}
    return {
        "database": database,
        "server": {"host": "127.0.0.1", "port": port, "access_log": False},
        "simulator": {"mode": "off"},
        "auth": {"token_cache_size": 10_000 if token_cache else 0},
        "providers": {
            "bench": {
                "protocol": "openai",
                "api_base": "http://127.0.0.1:18080/v1",
                "api_key": "sk-bench-not-a-secret",
                "models": {"fake-model": prices},
            },
            "bench-delay": {
                "protocol": "openai",
                "api_base": "http://127.0.0.1:18081/v1",
                "api_key": "sk-bench-not-a-secret",
                "models": {"fake-model-delay50": prices},
            },
        },
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_ready(url: str, proc: subprocess.Popen[bytes], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"bitrouter serve exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("bitrouter serve did not answer /health in time")


def _upstream(action: str, which: str) -> None:
    subprocess.run([str(_BENCH / "upstream.sh"), action, which], check=True)


def _answering(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
            return True
    except OSError:
        return False


def main() -> int:
    """Set up, run the shared benchmark against the gateway, clean up."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--no-token-cache", action="store_true", help="auth.token_cache_size: 0")
    parser.add_argument(
        "--ledger-dir",
        type=Path,
        default=None,
        help="put the ledger's SQLite file here (e.g. /dev/shm: no disk syncs); default: the home",
    )
    parser.add_argument("--no-hop", action="store_true", help="leave out the nginx hop")
    parser.add_argument(
        "--hold",
        action="store_true",
        help="only start the gateway, print its URL, pid and token file, wait for Ctrl-C",
    )
    parser.add_argument("rest", nargs="*", help="after --: more run.sh options")
    args = parser.parse_args()

    out = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    home = out / "home"
    home.mkdir(mode=0o700)
    port = _free_port()
    ledger = None
    if args.ledger_dir is not None:
        ledger = Path(tempfile.mkdtemp(dir=args.ledger_dir, prefix="bench-ledger-")) / "ledger.db"
    config = _config(port, not args.no_token_cache, ledger)
    (home / "bitrouter.yaml").write_text(yaml.safe_dump(config))
    keystore = Keystore(home)
    keystore.generate_master()
    token = mint_token(keystore, ttl_seconds=24 * 3600)

    env = {**os.environ, "BITROUTER_HOME": str(home)}
    log = (out / "gateway.log").open("wb")
    started_upstream = not _answering(18080)
    if started_upstream:
        _upstream("start", "upstream")
    started_hop = not args.no_hop and not _answering(18090)
    if started_hop:
        _upstream("start", "hop")
    gateway = subprocess.Popen(
        [str(_ROOT / ".venv" / "bin" / "bitrouter"), "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, gateway)
        if args.hold:
            (out / "token").write_text(token)
            print(f"gateway pid {gateway.pid} at {url}; token in {out}/token", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                gateway.wait()
            return 0
        with open("/proc/loadavg") as f:
            print(f"load average before: {f.read().strip()}", flush=True)
        command = [
            str(_BENCH / "run.sh"),
            "--compare",
            "--name",
            "gateway",
            "--reps",
            str(args.reps),
            "--duration",
            str(args.duration),
            "--watch",
            f"gateway={gateway.pid}",
            "--out",
            str(out / "results"),
        ]
        if not args.no_hop:
            command += ["--also", "nginx-hop=http://127.0.0.1:18090"]
        command += [*args.rest, url, token]
        shown = shlex.join([*command[:-1], "$TOKEN"])
        (out / "command.txt").write_text(f"BITROUTER_HOME={home} {shown}\n")
        print(f"running: {shown}", flush=True)
        result = subprocess.run(command, env={**os.environ, "BENCH_TOKEN": ""})
        with open("/proc/loadavg") as f:
            print(f"load average after: {f.read().strip()}", flush=True)
        print(f"output: {out}", flush=True)
        return result.returncode
    finally:
        gateway.send_signal(signal.SIGTERM)
        try:
            gateway.wait(timeout=15)
        except subprocess.TimeoutExpired:
            gateway.kill()
        if started_hop:
            _upstream("stop", "hop")
        if started_upstream:
            _upstream("stop", "upstream")
        if ledger is not None:
            shutil.rmtree(ledger.parent, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
