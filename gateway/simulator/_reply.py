"""Deterministic replies with honest token counts.

A text reply is the label ``[simulated PROVIDER/MODEL]`` followed by words drawn from a fixed
vocabulary by a generator seeded from a hash of the prompt (and the choice index and the
simulator's seed), or, after a tool result, by ``tool result: "…"`` quoting it. Its length is
the requested length (a ``tokens`` control, else the configured default), cut to the request's
output limit; the reported completion tokens are the tokenizer's count of the text actually
sent, plus any reasoning tokens asked for.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from gateway.simulator._arguments import arguments_for
from gateway.simulator._ask import Ask
from gateway.simulator._config import SimulatorConfig
from gateway.simulator._control import Control
from gateway.tokenizer import count_prompt_tokens, count_text_tokens

__all__ = ["Choice", "Finish", "Outcome", "ToolCall", "Usage", "label", "simulate_reply"]

Finish = Literal["stop", "length", "tool_calls", "stop_sequence"]

# Every word is one cl100k_base token with its leading space (a test checks it), so a reply's
# count grows by one per word.
_WORDS = (
    "river stone light cloud north field green quiet paper glass water bright signal garden "
    "market silver morning window simple story harbor valley winter summer forest island bridge "
    "castle planet rocket circle square letter number engine mirror candle orange yellow purple "
    "marble copper timber anchor ladder basket jacket pocket wonder thunder shadow canyon desert "
    "ocean coral rabbit tiger dragon"
)
_VOCAB = tuple(_WORDS.split())
_PIECE = re.compile(r"\s*\S+|\s+")


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One call the reply makes; ``call_id`` is the family-neutral part of its id."""

    name: str
    arguments: dict[str, Any]
    arguments_json: str
    call_id: str


@dataclass(frozen=True, slots=True)
class Choice:
    """One generated alternative (OpenAI's ``n``, Gemini's ``candidateCount``)."""

    index: int
    text: str
    tool_calls: tuple[ToolCall, ...]
    finish: Finish
    stop_sequence: str | None
    tokens: int

    def pieces(self) -> list[str]:
        """The text split where a stream sends one delta each (word by word)."""
        pieces: list[str] = _PIECE.findall(self.text)
        return pieces


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one response (``completion`` includes ``reasoning``)."""

    prompt: int
    completion: int
    reasoning: int
    cached: int
    cache_write: int

    @property
    def total(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt + self.completion


@dataclass(frozen=True, slots=True)
class Outcome:
    """Everything a response reports, before it is put in a wire format."""

    choices: tuple[Choice, ...]
    usage: Usage


def label(provider: str, model: str) -> str:
    """The text every simulated reply begins with."""
    return f"[simulated {provider}/{model}]"


def _seed(ask: Ask, config: SimulatorConfig) -> int:
    prompt = orjson.dumps(list(ask.messages), option=orjson.OPT_SORT_KEYS)
    head = f"{config.seed}\0{ask.provider}\0{ask.model}\0".encode()
    return int.from_bytes(hashlib.blake2b(head + prompt, digest_size=8).digest(), "big")


def _fit(text: str, budget: int, family: str) -> str:
    """The longest prefix of ``text``, in whole words where possible, within ``budget``."""
    if count_text_tokens(text, family) <= budget:
        return text
    pieces: list[str] = _PIECE.findall(text)
    low, high = 0, len(pieces)
    while high - low > 1:
        middle = (low + high) // 2
        if count_text_tokens("".join(pieces[:middle]), family) <= budget:
            low = middle
        else:
            high = middle
    if low > 0:
        return "".join(pieces[:low])
    first = pieces[0]
    low, high = 0, len(first)
    while high - low > 1:
        middle = (low + high) // 2
        if count_text_tokens(first[:middle], family) <= budget:
            low = middle
        else:
            high = middle
    return first[:low]


def _cut_at_stop(text: str, stops: tuple[str, ...]) -> tuple[str, str | None]:
    hits = [(text.find(stop), stop) for stop in stops if stop and stop in text]
    if not hits:
        return text, None
    index, stop = min(hits)
    return text[:index], stop


def _choice(
    ask: Ask, control: Control, index: int, seed: int, want: int, cap: int | None
) -> Choice:
    tool = ask.tool_to_call()
    if tool is not None:
        arguments = arguments_for(tool.schema, seed)
        arguments_json = orjson.dumps(arguments).decode()
        tokens = count_text_tokens(tool.name + arguments_json, ask.family)
        if cap is None or tokens <= cap:
            call = ToolCall(tool.name, arguments, arguments_json, f"{seed:016x}")
            return Choice(index, "", (call,), "tool_calls", None, tokens)
    quote = ask.trailing_tool_result()
    head = label(ask.provider, ask.model)
    if quote is not None:
        natural = f'{head} tool result: "{quote}"'
        budget = min((b for b in (control.tokens, cap) if b is not None), default=None)
    else:
        words = random.Random(seed)
        natural = head + "".join(" " + words.choice(_VOCAB) for _ in range(want))
        budget = want if cap is None else min(want, cap)
    text = natural if budget is None else _fit(natural, budget, ask.family)
    finish: Finish = "length" if text != natural and cap is not None and budget == cap else "stop"
    text, stop = _cut_at_stop(text, ask.stop)
    if stop is not None:
        finish = "stop_sequence"
    return Choice(index, text, (), finish, stop, count_text_tokens(text, ask.family))


def simulate_reply(ask: Ask, control: Control, config: SimulatorConfig) -> Outcome:
    """The reply to ``ask`` under ``control``: same request, same reply.

    Raises:
        AskError: the request forces a tool it does not offer.
    """
    limit = ask.max_tokens
    if control.fault == "ignore_max_tokens":
        reasoning, cap = control.reasoning, None
        want = (
            control.tokens
            if control.tokens is not None
            else (limit or 0) + config.default_reply_tokens
        )
    else:
        reasoning = control.reasoning if limit is None else min(control.reasoning, limit)
        cap = None if limit is None else limit - reasoning
        want = control.tokens if control.tokens is not None else config.default_reply_tokens
    seed = _seed(ask, config)
    choices = tuple(_choice(ask, control, i, seed + i, want, cap) for i in range(ask.n))
    prompt = count_prompt_tokens(ask.messages, ask.family, ask.openai_tools())
    cached = min(control.cached, prompt)
    usage = Usage(
        prompt=prompt,
        completion=sum(choice.tokens for choice in choices) + reasoning,
        reasoning=reasoning,
        cached=cached,
        cache_write=min(control.cache_write, prompt - cached),
    )
    return Outcome(choices, usage)
