"""Build the spending-caps Solana program: C → BPF object (clang from PyPI's ``ziglang``) → .so.

    python scripts/build_solana_program.py          # rewrite gateway/chains/solana/program/caps.so
    python scripts/build_solana_program.py --check  # exit 1 if the committed .so is stale

No Solana toolchain is needed: stock clang's BPF target compiles the C (``-mcpu=v1`` keeps to
the instructions SBPFv0 has) and the project's own linker (``_link.py``) writes the ELF form
the loader accepts. The result depends only on the source and the compiler version, so a
rebuild gives the committed bytes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROGRAM_DIR = ROOT / "gateway" / "chains" / "solana" / "program"
SOURCE = "caps.c"
OUTPUT = PROGRAM_DIR / "caps.so"

CFLAGS = [
    "-target",
    "bpfel-freestanding",
    "-mcpu=v1",  # no jmp32/alu32 forms: SBPFv0 lacks them
    "-O2",
    "-ffreestanding",
    "-fno-builtin",
    "-fno-jump-tables",  # a jump table would put code addresses in .rodata
    "-fno-strict-aliasing",  # the input buffer is read through several struct views
    "-fno-unwind-tables",
    "-fno-asynchronous-unwind-tables",
    "-fno-addrsig",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wno-unused-function",  # the headers offer functions a program need not use
]


def compile_object(source_dir: Path, out_dir: Path) -> bytes:
    """Compile ``caps.c`` to a BPF relocatable object; its bytes."""
    obj = out_dir / "caps.o"
    # Relative source path and a private cache: nothing of this machine ends up in the object.
    command = [sys.executable, "-m", "ziglang", "cc", *CFLAGS, "-c", SOURCE, "-o", str(obj)]
    cache = str(out_dir / "zig-cache")
    env = {**os.environ, "ZIG_GLOBAL_CACHE_DIR": cache, "ZIG_LOCAL_CACHE_DIR": cache}
    done = subprocess.run(command, cwd=source_dir, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"compiling {SOURCE} failed:\n{done.stderr.strip()}")
    return obj.read_bytes()


def build(source_dir: Path = PROGRAM_DIR) -> bytes:
    """The program binary built from ``source_dir``."""
    sys.path.insert(0, str(ROOT))
    from gateway.chains.solana.program._link import link

    with tempfile.TemporaryDirectory(prefix="caps-build-") as tmp:
        return link(compile_object(source_dir, Path(tmp)))


def main(argv: list[str] | None = None) -> int:
    """Build, then write the binary (or, with ``--check``, compare it with the committed one)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT, help="where to write the .so")
    parser.add_argument("--check", action="store_true", help="only compare with --output")
    args = parser.parse_args(argv)
    binary = build()
    if args.check:
        same = args.output.is_file() and args.output.read_bytes() == binary
        print(f"{args.output}: {'up to date' if same else 'STALE, rebuild it'}")
        return 0 if same else 1
    args.output.write_bytes(binary)
    print(f"wrote {args.output} ({len(binary)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
