"""Link one BPF relocatable object into the SBPFv0 shared object that Solana's loader runs.

Stock clang (``-target bpfel-freestanding -mcpu=v1``) writes an ``ET_REL`` object; Solana's
loader wants what its own toolchain's linker writes: an ``ET_DYN``/``EM_BPF`` file, ``e_flags``
0 (SBPFv0), every section's address equal to its file offset, exactly one ``.text``, read-only
data in ``.rodata``, and a dynamic section whose relocations the loader applies at load time:

- a syscall is ``call -1`` plus an ``R_BPF_64_32`` relocation against an undefined dynamic
  symbol named after it (the loader replaces the immediate with the murmur3 hash of the name);
- a 64-bit address (``lddw``) holds the target's file offset and gets ``R_BPF_64_RELATIVE``
  (the loader adds the program region's base, 2^32);
- calls between functions of the object are already pc-relative and need nothing.

Writable globals (``.data``, ``.bss``) are refused: the loader rejects them. The output is a
pure function of the object's bytes, so a rebuild gives the same file.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from gateway.errors import ConfigError

__all__ = ["link"]

_EM_BPF = 247
_ET_REL, _ET_DYN = 1, 3
_SHT_PROGBITS, _SHT_SYMTAB, _SHT_STRTAB, _SHT_DYNAMIC = 1, 2, 3, 6
_SHT_NOBITS, _SHT_REL, _SHT_DYNSYM = 8, 9, 11
_SHF_WRITE, _SHF_ALLOC, _SHF_EXECINSTR = 1, 2, 4
_PT_LOAD, _PT_DYNAMIC = 1, 2
_R_BPF_64_64, _R_BPF_64_RELATIVE, _R_BPF_64_32 = 1, 8, 10
_DT_NULL, _DT_STRTAB, _DT_SYMTAB, _DT_STRSZ, _DT_SYMENT = 0, 5, 6, 10, 11
_DT_REL, _DT_RELSZ, _DT_RELENT = 17, 18, 19
_OP_LDDW, _OP_CALL = 0x18, 0x85
_SHDR = struct.Struct("<IIQQQQIIQQ")
_SYM = struct.Struct("<IBBHQQ")
_REL = struct.Struct("<QQ")
_PHDR = struct.Struct("<IIQQQQQQ")
_EHDR_SIZE = 64


@dataclass(frozen=True, slots=True)
class _Section:
    index: int
    name: str
    type: int
    flags: int
    offset: int
    size: int
    link: int
    info: int
    align: int


@dataclass(frozen=True, slots=True)
class _Symbol:
    name: str
    value: int
    shndx: int


def _cstr(table: bytes, at: int) -> str:
    return table[at : table.index(b"\0", at)].decode()


def _parse(obj: bytes) -> tuple[list[_Section], list[_Symbol]]:
    if obj[:4] != b"\x7fELF" or obj[4] != 2 or obj[5] != 1:
        raise ConfigError("not a little-endian ELF64 object")
    e_type, e_machine = struct.unpack_from("<HH", obj, 16)
    if e_type != _ET_REL or e_machine != _EM_BPF:
        raise ConfigError("not a BPF relocatable object (compile with -target bpfel -c)")
    (shoff,) = struct.unpack_from("<Q", obj, 40)
    shnum, shstrndx = struct.unpack_from("<HH", obj, 60)
    raw = [_SHDR.unpack_from(obj, shoff + i * _SHDR.size) for i in range(shnum)]
    names = obj[raw[shstrndx][4] : raw[shstrndx][4] + raw[shstrndx][5]]
    sections = [
        _Section(i, _cstr(names, h[0]), h[1], h[2], h[4], h[5], h[6], h[7], max(1, h[8]))
        for i, h in enumerate(raw)
    ]
    symtab = next((s for s in sections if s.type == _SHT_SYMTAB), None)
    if symtab is None:
        raise ConfigError("the object has no symbol table")
    strtab = sections[symtab.link]
    strings = obj[strtab.offset : strtab.offset + strtab.size]
    symbols = []
    for at in range(symtab.offset, symtab.offset + symtab.size, _SYM.size):
        st_name, _, _, st_shndx, st_value, _ = _SYM.unpack_from(obj, at)
        symbols.append(_Symbol(_cstr(strings, st_name), st_value, st_shndx))
    return sections, symbols


def _align(value: int, to: int) -> int:
    return (value + to - 1) // to * to


def _select(sections: list[_Section]) -> tuple[_Section, list[_Section]]:
    """The one ``.text`` and the read-only data sections to merge into ``.rodata``."""
    code = [s for s in sections if s.flags & _SHF_EXECINSTR and s.size]
    if [s.name for s in code] != [".text"]:
        raise ConfigError(f"expected code only in .text, found {[s.name for s in code]}")
    rodata = []
    for s in sections:
        if not s.flags & _SHF_ALLOC or s.flags & _SHF_EXECINSTR or not s.size:
            continue
        if s.flags & _SHF_WRITE or s.type == _SHT_NOBITS:
            raise ConfigError(f"writable global data ({s.name}) is not allowed in a program")
        if s.name.startswith(".rodata"):
            rodata.append(s)
        elif s.name != ".eh_frame":
            raise ConfigError(f"unsupported allocated section {s.name}")
    targets = {s.index: s.name for s in rodata}
    for rel in sections:
        if rel.type == _SHT_REL and rel.info in targets and rel.size:
            raise ConfigError(
                f"pointers inside read-only data ({targets[rel.info]}) are unsupported"
            )
    return code[0], rodata


@dataclass(slots=True)
class _Dynamic:
    """The dynamic symbols (syscalls, in order of first use) and relocations of the output."""

    names: list[str]
    relocs: list[tuple[int, int, int]]  # (file offset, type, dynamic symbol index)

    def symbol(self, name: str) -> int:
        if not name.startswith("sol_") and name != "abort":
            # e.g. memcpy for a copy clang would not inline: the runtime has no libc.
            raise ConfigError(f"the program calls {name}, which is neither defined nor a syscall")
        if name not in self.names:
            self.names.append(name)
        return self.names.index(name) + 1


def _patch_text(
    obj: bytes,
    sections: list[_Section],
    symbols: list[_Symbol],
    text: _Section,
    where: dict[int, int],
) -> tuple[bytes, _Dynamic]:
    """Resolve ``.rel.text`` against the output layout ``where`` (input section → address)."""
    code = bytearray(obj[text.offset : text.offset + text.size])
    dyn = _Dynamic([], [])
    base = where[text.index]
    for rel in (s for s in sections if s.type == _SHT_REL and s.info == text.index):
        for at in range(rel.offset, rel.offset + rel.size, _REL.size):
            r_offset, r_info = _REL.unpack_from(obj, at)
            kind, sym = r_info & 0xFFFFFFFF, symbols[r_info >> 32]
            opcode, (imm,) = code[r_offset], struct.unpack_from("<i", code, r_offset + 4)
            if kind == _R_BPF_64_32 and opcode == _OP_CALL and sym.shndx == 0:
                struct.pack_into("<i", code, r_offset + 4, -1)
                dyn.relocs.append((base + r_offset, _R_BPF_64_32, dyn.symbol(sym.name)))
            elif kind == _R_BPF_64_32 and opcode == _OP_CALL and sym.shndx == text.index:
                # REL addend: the immediate counts instructions from the symbol, minus one.
                target = sym.value + (imm + 1) * 8
                struct.pack_into("<i", code, r_offset + 4, (target - r_offset - 8) // 8)
            elif kind == _R_BPF_64_64 and opcode == _OP_LDDW and sym.shndx in where:
                address = where[sym.shndx] + sym.value + (imm & 0xFFFFFFFF)
                struct.pack_into("<I", code, r_offset + 4, address & 0xFFFFFFFF)
                struct.pack_into("<I", code, r_offset + 12, address >> 32)
                dyn.relocs.append((base + r_offset, _R_BPF_64_RELATIVE, 0))
            else:
                raise ConfigError(
                    f"unsupported relocation type {kind} against {sym.name or '?'} "
                    f"at .text+{r_offset:#x}"
                )
    return bytes(code), dyn


class _Image:
    """The output file under construction: blobs placed at aligned offsets."""

    def __init__(self, start: int) -> None:
        self.data = bytearray(start)

    def place(self, blob: bytes, align: int = 8) -> int:
        at = _align(len(self.data), align)
        self.data += bytes(at - len(self.data)) + blob
        return at


def link(obj: bytes) -> bytes:
    """Link a BPF ``ET_REL`` object (with a global ``entrypoint``) into an SBPFv0 program."""
    sections, symbols = _parse(obj)
    text, rodata = _select(sections)
    entry = next((s for s in symbols if s.name == "entrypoint" and s.shndx == text.index), None)
    if entry is None:
        raise ConfigError("the object defines no entrypoint function in .text")

    phnum = 4  # text, rodata, dynamic tables, PT_DYNAMIC
    image = _Image(_EHDR_SIZE + phnum * _PHDR.size)
    # Code and read-only data go where they will stay, so relocations can use final offsets.
    text_at = _align(len(image.data), 8)  # what image.place(code) will return
    where = {text.index: text_at}
    rodata_at = cursor = _align(text_at + text.size, 8)
    for s in rodata:
        where[s.index] = cursor = _align(cursor, s.align)
        cursor += s.size
    ro = bytearray(cursor - rodata_at)
    for s in rodata:
        at = where[s.index] - rodata_at
        ro[at : at + s.size] = obj[s.offset : s.offset + s.size]
    code, dyn = _patch_text(obj, sections, symbols, text, where)
    image.place(code)
    image.place(bytes(ro))

    # .dynstr / .dynsym: the syscalls (undefined, global) and the exported entrypoint.
    dynstr = bytearray(b"\0")
    dynsym = bytearray(_SYM.size)
    for name in dyn.names:
        dynsym += _SYM.pack(len(dynstr), 0x10, 0, 0, 0, 0)  # STB_GLOBAL, STT_NOTYPE
        dynstr += name.encode() + b"\0"
    entry_at = text_at + entry.value
    dynsym += _SYM.pack(len(dynstr), 0x12, 0, 1, entry_at, 0)  # STB_GLOBAL, STT_FUNC, .text
    dynstr += b"entrypoint\0"
    relocs = b"".join(_REL.pack(off, (sym << 32) | kind) for off, kind, sym in dyn.relocs)

    # The dynamic table's size is known before the addresses it holds.
    n_dynamic = 8 if relocs else 5
    dynamic_at = image.place(bytes(16 * n_dynamic))
    dynsym_at = image.place(bytes(dynsym))
    dynstr_at = image.place(bytes(dynstr), 1)
    rel_at = image.place(relocs)
    dyn_end = len(image.data)
    entries = [
        (_DT_SYMTAB, dynsym_at),
        (_DT_SYMENT, _SYM.size),
        (_DT_STRTAB, dynstr_at),
        (_DT_STRSZ, len(dynstr)),
    ]
    if relocs:  # the loader refuses a DT_REL whose size is 0
        entries += [(_DT_REL, rel_at), (_DT_RELSZ, len(relocs)), (_DT_RELENT, _REL.size)]
    dynamic = b"".join(struct.pack("<qQ", tag, val) for tag, val in [*entries, (_DT_NULL, 0)])
    image.data[dynamic_at : dynamic_at + len(dynamic)] = dynamic

    # Section headers: (name, type, flags, address = offset, size, link, info, align, entsize).
    specs = [
        (".text", _SHT_PROGBITS, _SHF_ALLOC | _SHF_EXECINSTR, text_at, len(code), 0, 0, 8, 0),
        (".rodata", _SHT_PROGBITS, _SHF_ALLOC, rodata_at, len(ro), 0, 0, 8, 0),
        (".dynamic", _SHT_DYNAMIC, _SHF_ALLOC | _SHF_WRITE, dynamic_at, len(dynamic), 5, 0, 8, 16),
        (".dynsym", _SHT_DYNSYM, _SHF_ALLOC, dynsym_at, len(dynsym), 5, 1, 8, _SYM.size),
        (".dynstr", _SHT_STRTAB, _SHF_ALLOC, dynstr_at, len(dynstr), 0, 0, 1, 0),
        (".rel.dyn", _SHT_REL, _SHF_ALLOC, rel_at, len(relocs), 4, 0, 8, _REL.size),
    ]
    names = bytearray(b"\0")
    headers = [bytes(_SHDR.size)]
    for name, kind, flags, at, size, lnk, info, align, entsize in specs:
        headers.append(_SHDR.pack(len(names), kind, flags, at, at, size, lnk, info, align, entsize))
        names += name.encode() + b"\0"
    shstrtab_name = len(names)
    names += b".shstrtab\0"
    shstrtab_at = image.place(bytes(names), 1)
    headers.append(
        _SHDR.pack(shstrtab_name, _SHT_STRTAB, 0, 0, shstrtab_at, len(names), 0, 0, 1, 0)
    )
    shoff = image.place(b"".join(headers))

    def segment(kind: int, flags: int, at: int, size: int) -> bytes:
        return _PHDR.pack(kind, flags, at, at, at, size, size, 8)

    program_headers = [
        segment(_PT_LOAD, 5, text_at, len(code)),  # R+X
        segment(_PT_LOAD, 4, rodata_at, len(ro)),  # R
        segment(_PT_LOAD, 6, dynamic_at, dyn_end - dynamic_at),  # R+W, as lld marks it
        segment(_PT_DYNAMIC, 6, dynamic_at, len(dynamic)),
    ]
    header = (
        b"\x7fELF\x02\x01\x01"
        + bytes(9)
        + struct.pack(
            "<HHIQQQIHHHHHH",
            _ET_DYN,
            _EM_BPF,
            1,
            entry_at,
            _EHDR_SIZE,
            shoff,
            0,
            _EHDR_SIZE,
            _PHDR.size,
            phnum,
            _SHDR.size,
            len(headers),
            len(headers) - 1,
        )
    )
    image.data[: len(header)] = header
    image.data[_EHDR_SIZE : _EHDR_SIZE + phnum * _PHDR.size] = b"".join(program_headers)
    return bytes(image.data)
