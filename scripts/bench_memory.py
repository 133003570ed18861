"""Resident memory (RSS) of ``bitrouter serve``: after start, after chat calls, after streams.

    python scripts/bench_memory.py [-n 20] [--upstream embedded|external] [--settle 1.0]
                                   [--imports]

It builds a throwaway home (a master key and an api token; nothing else configured but the
port), starts ``bitrouter serve`` on a free port and reads ``VmRSS`` (and the peak, ``VmHWM``)
from ``/proc/PID/status``: once it answers ``/health``, then after each of three phases of ``-n``
chat calls, each reply 200 tokens (~1.3 kB) long: not streamed, streamed far from the
reservation (``max_tokens`` 4096), and streamed close to it (``max_tokens`` 256: once a
stream's bytes could pass what is reserved, the gateway counts its tokens with the tokenizer
to know where to cut it).

``--upstream embedded`` (the default) leaves the home on the embedded defaults: no provider
keys, so the gateway serves every model from its built-in provider simulator, in its own
process. ``--upstream external`` runs the simulator as a separate process (``bitrouter sim``)
behind a configured provider and switches the built-in one off, so that only the gateway's own
memory is counted. Another version of the package (a copy of its ``gateway`` folder in COPY)
is measured the same way with ``PYTHONPATH=COPY``.

``--imports`` also prints what importing the server's modules loads, per top-level package
(modules, cumulative import time from ``python -X importtime``, and the gateway module that
first brought it in).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

import yaml
from bench_gateway import _free_port, _wait_ready

from gateway.identity import Keystore, mint_token

_ROOT = Path(__file__).resolve().parent.parent
_PYTHON = str(_ROOT / ".venv" / "bin" / "python")
_EMBEDDED_MODEL = "openai/gpt-4o-mini"
_EXTERNAL_MODEL = "sim-small"
# (stream, max_tokens, label) of each phase; every reply is 200 tokens (~1.3 kB) long.
_PHASES = (
    (False, 4096, "calls, not streamed"),
    (True, 4096, "streams, far from the reservation"),
    (True, 256, "streams, close to the reservation"),
)
# Provider credentials in the environment would take the gateway off its embedded defaults.
_PROVIDER_VARIABLE = re.compile(r".+_(API_KEY|BASE_URL)$")


def _rss(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of ``pid`` in MB."""
    fields: dict[str, float] = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


def _chat(url: str, token: str, model: str, stream: bool, max_tokens: int) -> None:
    body: dict[str, object] = {
        "model": model,
        "messages": [{"role": "user", "content": "[[sim:tokens=200]] Tell me about memory"}],
        "max_tokens": max_tokens,
    }
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    request = urllib.request.Request(
        url + "/v1/chat/completions",
        data=json.dumps(body).encode(),
        headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        data = response.read()
    if stream and b'"cost_micro_usd"' not in data:
        raise SystemExit(f"a stream ended without its usage: {data[-300:]!r}")


def _start_simulator(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    sim = subprocess.Popen(
        [_PYTHON, "-m", "gateway.cli", "sim", "--port", "0", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=log.open("wb"),
    )
    assert sim.stdout is not None
    text = b""
    while b"}" not in text:
        line = sim.stdout.readline()
        if not line:
            raise SystemExit("bitrouter sim exited before printing its URLs")
        text += line
    return sim, str(json.loads(text)["base_url"])


def _config(port: int, simulator_url: str | None) -> dict[str, object]:
    config: dict[str, object] = {"server": {"host": "127.0.0.1", "port": port}}
    if simulator_url is not None:
        config["simulator"] = {"mode": "off"}
        config["providers"] = {
            "simx": {
                "protocol": "openai",
                "api_base": f"{simulator_url}/p/simx/v1",
                "api_key": "sim-key",
                "models": {_EXTERNAL_MODEL: {"input_price": 1.0, "output_price": 2.0}},
            }
        }
    return config


def _imports() -> None:
    """What importing the serve path loads, per top-level package, and which gateway module
    first brought it in."""
    code = "import gateway.cli, gateway.http, gateway.runtime"
    done = subprocess.run(
        [_PYTHON, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True
    )
    # One line per module, children before their parent, nested by two spaces a level.
    rows: list[tuple[int, str, int]] = []
    for line in done.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[0].strip().isdigit():
            name = parts[2].rstrip()
            depth = (len(name) - len(name.lstrip())) // 2
            rows.append((depth, name.strip(), int(parts[1])))
    modules: dict[str, int] = defaultdict(int)
    cumulative: dict[str, int] = {}
    via: dict[str, str] = {}
    for i, (depth, name, micros) in enumerate(rows):
        top = name.split(".")[0]
        modules[top] += 1
        if name != top or top in cumulative:
            continue
        cumulative[top] = micros  # the package's own module: its imports' time included
        for parent_depth, parent, _ in rows[i + 1 :]:
            if parent_depth < depth and parent.startswith("gateway.") and top != "gateway":
                via[top] = parent
                break
            depth = min(depth, parent_depth)
    print(f"\n{code}: {len(rows)} modules\n")
    print("| package | modules | cumulative import ms | first imported by |")
    print("|---|---|---|---|")
    for top in sorted(cumulative, key=lambda t: -cumulative[t])[:25]:
        print(f"| {top} | {modules[top]} | {cumulative[top] / 1000:.0f} | {via.get(top, '')} |")


def main() -> int:
    """Start a gateway on a throwaway home, call it, print its RSS after each phase."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=20, help="calls per phase")
    parser.add_argument("--upstream", choices=("embedded", "external"), default="embedded")
    parser.add_argument(
        "--settle", type=float, default=1.0, help="seconds to wait before each reading"
    )
    parser.add_argument("--imports", action="store_true", help="also summarise the imports")
    args = parser.parse_args()

    out = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    home = out / "home"
    home.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if not _PROVIDER_VARIABLE.match(k)}
    env["BITROUTER_HOME"] = str(home)
    processes: list[subprocess.Popen[bytes]] = []
    simulator_url = None
    if args.upstream == "external":
        sim, simulator_url = _start_simulator(env, out / "sim.log")
        processes.append(sim)
    port = _free_port()
    (home / "bitrouter.yaml").write_text(yaml.safe_dump(_config(port, simulator_url)))
    keystore = Keystore(home)
    keystore.generate_master()
    token = mint_token(keystore, ttl_seconds=24 * 3600)
    model = _EXTERNAL_MODEL if simulator_url else _EMBEDDED_MODEL
    gateway = subprocess.Popen(
        [str(_ROOT / ".venv" / "bin" / "bitrouter"), "serve", "--port", str(port)],
        env=env,
        stdout=(out / "gateway.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    processes.append(gateway)
    url = f"http://127.0.0.1:{port}"
    rows: list[tuple[str, float, float]] = []
    try:
        _wait_ready(url, gateway)
        time.sleep(args.settle)
        rows.append(("after start", *_rss(gateway.pid)))
        for stream, max_tokens, label in _PHASES:
            for _ in range(args.n):
                _chat(url, token, model, stream, max_tokens)
            time.sleep(args.settle)
            rows.append((f"+ {args.n} {label}", *_rss(gateway.pid)))
    finally:
        for process in reversed(processes):
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
    print(f"bitrouter serve, upstream {args.upstream} ({model}); output in {out}\n")
    print("| phase | RSS MB | peak RSS MB |")
    print("|---|---|---|")
    for label, rss, peak in rows:
        print(f"| {label} | {rss:.1f} | {peak:.1f} |")
    if args.imports:
        _imports()
    return 0


if __name__ == "__main__":
    sys.exit(main())
