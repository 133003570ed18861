"""The committed binary is what the build script makes, and has the form the loader accepts."""

from __future__ import annotations

import importlib.util
import struct
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from gateway.chains.solana.program import TOKEN_PROGRAM_ID, program_binary
from gateway.chains.solana.program._link import link
from gateway.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "build_solana_program.py"


def _build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_solana_program", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.req("SOL-PROG-6")
def test_rebuilding_gives_the_committed_bytes(tmp_path: Path) -> None:
    pytest.importorskip("ziglang")
    out = tmp_path / "caps.so"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--output", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == program_binary()


@pytest.mark.req("SOL-PROG-6")
def test_binary_is_an_sbpfv0_shared_object() -> None:
    elf = program_binary()
    assert elf[:4] == b"\x7fELF"
    e_type, e_machine, _, e_entry = struct.unpack_from("<HHIQ", elf, 16)
    (e_flags,) = struct.unpack_from("<I", elf, 48)
    assert (e_type, e_machine, e_flags) == (3, 247, 0)  # ET_DYN, EM_BPF, SBPFv0
    (shoff,) = struct.unpack_from("<Q", elf, 40)
    shnum, shstrndx = struct.unpack_from("<HH", elf, 60)
    headers = [struct.unpack_from("<IIQQQQIIQQ", elf, shoff + 64 * i) for i in range(shnum)]
    names_at = headers[shstrndx][4]

    def name(h: tuple[int, ...]) -> str:
        start = names_at + h[0]
        return elf[start : elf.index(b"\0", start)].decode()

    sections = {name(h): h for h in headers[1:]}
    assert list(sections) == [
        ".text",
        ".rodata",
        ".dynamic",
        ".dynsym",
        ".dynstr",
        ".rel.dyn",
        ".shstrtab",
    ]
    for section, h in sections.items():
        assert section == ".shstrtab" or h[3] == h[4], f"{section}: address != offset"
    text = sections[".text"]
    assert text[3] <= e_entry < text[3] + text[5]
    rodata = sections[".rodata"]
    constants = elf[rodata[4] : rodata[4] + rodata[5]]
    assert b"ProgramDerivedAddress" in constants and bytes(TOKEN_PROGRAM_ID) in constants
    dynstr = sections[".dynstr"]
    symbols = elf[dynstr[4] : dynstr[4] + dynstr[5]].split(b"\0")
    assert b"sol_invoke_signed_c" in symbols and b"entrypoint" in symbols


@pytest.mark.req("SOL-PROG-6")
def test_the_linker_refuses_writable_globals(tmp_path: Path) -> None:
    pytest.importorskip("ziglang")
    (tmp_path / "caps.c").write_text(
        "static unsigned long calls;\n"
        "unsigned long entrypoint(const unsigned char *input) { return ++calls + *input; }\n"
    )
    obj = _build_script().compile_object(tmp_path, tmp_path)
    with pytest.raises(ConfigError, match="writable global data"):
        link(obj)


@pytest.mark.req("SOL-PROG-6")
def test_the_linker_refuses_what_is_not_a_bpf_object() -> None:
    with pytest.raises(ConfigError, match="ELF"):
        link(b"MZ not an ELF file at all")
    with pytest.raises(ConfigError, match="BPF relocatable"):
        link(program_binary())
