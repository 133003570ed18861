from __future__ import annotations

import pytest

from gateway.identity import canonical_model_id, model_allowed, tool_allowed

CASES = [
    ("openai/*", "openai/gpt-4o", True),
    ("openai/*", "openai:gpt-4o", True),
    ("openai/*", "openai:o3:high", True),
    ("openai/*", "openaix/gpt-4o", False),
    ("openai/*", "azure/openai-gpt-4o", False),
    ("anthropic:claude-*", "anthropic:claude-sonnet-4", True),
    ("anthropic:claude-*", "anthropic/claude-3-5-haiku", True),
    ("anthropic:claude-*", "anthropic:opus", False),
    ("anthropic:claude-*", "google/claude-lookalike", False),
    ("*", "moonshotai:kimi-k2.5", True),
    ("*", "meta-llama/llama-3.1-8b-instruct:free", True),
    ("*:free", "meta-llama/llama-3.1-8b-instruct:free", True),
    ("*:free", "openai/gpt-4o", False),
    ("openai/gpt-4o", "OPENAI:GPT-4O", True),
    ("openai/gpt-4o", "openai/gpt-4o-mini", False),
    ("openai/gpt-4o?", "openai/gpt-4ob", True),
]


@pytest.mark.req("AUTH-VER-4")
@pytest.mark.parametrize(("pattern", "model", "allowed"), CASES)
def test_model_globs(pattern: str, model: str, allowed: bool) -> None:
    assert model_allowed([pattern], model) is allowed


def test_absent_list_allows_all_and_empty_list_nothing() -> None:
    assert model_allowed(None, "x/y") and tool_allowed(None, "t")
    assert not model_allowed([], "x/y") and not tool_allowed([], "t")


def test_canonical_form() -> None:
    assert canonical_model_id("Anthropic:Claude-Sonnet-4") == "anthropic/claude-sonnet-4"
    assert canonical_model_id("vendor/model:variant") == "vendor/model:variant"
    assert canonical_model_id("gpt-4o") == "gpt-4o"


@pytest.mark.req("AUTH-VER-4")
def test_tool_globs_are_case_sensitive() -> None:
    assert tool_allowed(["github__*"], "github__create_issue")
    assert not tool_allowed(["github__*"], "GitHub__create_issue")
    assert not tool_allowed(["github__list"], "github__list_all")
