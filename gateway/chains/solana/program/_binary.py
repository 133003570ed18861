"""The committed program binary (``caps.so``, built by ``scripts/build_solana_program.py``)."""

from __future__ import annotations

from importlib.resources import files

__all__ = ["program_binary"]


def program_binary() -> bytes:
    """The SBPFv0 program's bytes, ready to deploy or to load into LiteSVM."""
    return files(__package__).joinpath("caps.so").read_bytes()
