"""Quotes: binding prices before a call, and the limits that size every call."""

from gateway.quotes._limits import (
    BYTES_PER_TOKEN,
    DEFAULT_OUTPUT_LIMIT,
    IMAGE_TOKENS_ESTIMATE,
    estimate_prompt_tokens,
    largest_output,
    worst_case_cost,
)
from gateway.quotes._quote import Quote
from gateway.quotes._service import QuoteService, count_prompt, prompt_digest
from gateway.quotes._store import MemoryQuoteStore, QuoteRecord, QuoteStore, TakeOutcome

__all__ = [
    "BYTES_PER_TOKEN",
    "DEFAULT_OUTPUT_LIMIT",
    "IMAGE_TOKENS_ESTIMATE",
    "MemoryQuoteStore",
    "Quote",
    "QuoteRecord",
    "QuoteService",
    "QuoteStore",
    "TakeOutcome",
    "count_prompt",
    "estimate_prompt_tokens",
    "largest_output",
    "prompt_digest",
    "worst_case_cost",
]
