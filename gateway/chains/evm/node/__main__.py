"""``python -m gateway.chains.evm.node --state-dir DIR --idle-seconds S``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from gateway.chains.evm.node._journal import JournalCorrupt
from gateway.chains.evm.node._node import Node
from gateway.chains.evm.node._server import serve


def main() -> int:
    """Replay the state folder's journal, then serve JSON-RPC until idle or stopped."""
    parser = argparse.ArgumentParser(prog="python -m gateway.chains.evm.node")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--idle-seconds", type=float, default=900.0)
    args = parser.parse_args()
    args.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        node = Node(args.state_dir)
    except JournalCorrupt as exc:
        print(f"error: the embedded EVM node cannot replay its journal: {exc}", file=sys.stderr)
        return 1
    serve(node, args.state_dir, args.idle_seconds)
    return 0


if __name__ == "__main__":
    code = main()
    # Everything durable is already on disk; skipping the interpreter's teardown of py-evm's
    # large in-memory state makes a stop take milliseconds instead of a second.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
