"""``python -m gateway.chains.solana.node --state-dir DIR --idle-seconds S``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import trio

from gateway.chains.solana.node._journal import JournalCorrupt
from gateway.chains.solana.node._server import run_node


def main(argv: list[str] | None = None) -> int:
    """Run the embedded Solana node until SIGTERM or idle; 0 on a clean stop, else 1."""
    parser = argparse.ArgumentParser(prog="python -m gateway.chains.solana.node")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--idle-seconds", type=float, default=900.0)
    args = parser.parse_args(argv)
    args.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        clean = trio.run(run_node, args.state_dir, args.idle_seconds)
    except JournalCorrupt as exc:
        print(f"solana node: cannot replay its state: {exc}", file=sys.stderr)
        return 1
    if not clean:
        print("solana node: stopped because its journal could not be written", file=sys.stderr)
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
