"""Reply generation and tool arguments, without HTTP."""

from __future__ import annotations

import pytest

import gateway.simulator
from gateway.simulator import SimulatorConfig
from gateway.simulator._arguments import arguments_for
from gateway.simulator._ask import Ask
from gateway.simulator._control import Control
from gateway.simulator._reply import _VOCAB, simulate_reply
from gateway.tokenizer import count_text_tokens


def _ask(text: str = "Hi", **extra: object) -> Ask:
    return Ask(
        family=str(extra.pop("family", "openai")),
        provider="p",
        model="m",
        messages=[{"role": "user", "content": text}],
        **extra,  # type: ignore[arg-type]
    )


@pytest.mark.req("SIM-REPLY")
def test_every_word_is_one_token_so_lengths_are_exact() -> None:
    assert len(set(_VOCAB)) == len(_VOCAB) > 40
    assert all(count_text_tokens(" " + word, "openai") == 1 for word in _VOCAB)
    for tokens in (12, 30, 200):
        outcome = simulate_reply(_ask(), Control(tokens=tokens), SimulatorConfig())
        assert count_text_tokens(outcome.choices[0].text, "openai") == tokens


@pytest.mark.req("SIM-REPLY")
def test_replies_depend_on_prompt_and_seed_only() -> None:
    config = SimulatorConfig()
    first = simulate_reply(_ask("Hi"), Control(), config).choices[0].text
    assert simulate_reply(_ask("Hi"), Control(), config).choices[0].text == first
    assert simulate_reply(_ask("Hi!"), Control(), config).choices[0].text != first
    assert simulate_reply(_ask("Hi"), Control(), SimulatorConfig(seed=1)).choices[0].text != first


@pytest.mark.req("SIM-REPLY")
@pytest.mark.req("SIM-COUNT")
def test_a_limit_below_the_label_still_fits() -> None:
    for family in ("openai", "anthropic", "google"):
        for limit in (1, 3):
            choice = simulate_reply(
                _ask(family=family, max_tokens=limit), Control(), SimulatorConfig()
            ).choices[0]
            assert choice.finish == "length"
            assert choice.tokens == count_text_tokens(choice.text, family) <= limit
            assert "[simulated p/m]".startswith(choice.text)


@pytest.mark.req("SIM-REPLY")
def test_reasoning_counts_against_the_limit() -> None:
    outcome = simulate_reply(_ask(max_tokens=20), Control(reasoning=15), SimulatorConfig())
    assert outcome.usage.reasoning == 15
    assert outcome.usage.completion == 15 + outcome.choices[0].tokens <= 20


@pytest.mark.req("SIM-REPLY")
def test_arguments_fill_required_properties_from_the_schema() -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 3, "maxLength": 12},
            "mode": {"enum": ["fast", "slow"]},
            "count": {"type": ["integer", "null"], "minimum": 5, "maximum": 6},
            "ratio": {"type": "number", "minimum": 0.5, "maximum": 0.6},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
            "where": {
                "type": "OBJECT",
                "properties": {"lat": {"type": "NUMBER"}, "ok": {"type": "BOOLEAN"}},
                "required": ["lat", "ok"],
            },
            "fixed": {"const": 42},
            "optional": {"type": "string"},
        },
        "required": ["name", "mode", "count", "ratio", "tags", "where", "fixed"],
    }
    arguments = arguments_for(schema, seed=7)
    assert arguments == arguments_for(schema, seed=7)
    assert set(arguments) == set(schema["required"])  # type: ignore[arg-type]
    assert 3 <= len(arguments["name"]) <= 12 and arguments["mode"] == "fast"
    assert arguments["count"] in (5, 6) and 0.5 <= arguments["ratio"] <= 0.6
    assert len(arguments["tags"]) == 2 and all(isinstance(t, str) for t in arguments["tags"])
    assert isinstance(arguments["where"]["lat"], float) and arguments["where"]["ok"] is True
    assert arguments["fixed"] == 42


def test_public_api() -> None:
    for name in gateway.simulator.__all__:
        assert getattr(gateway.simulator, name) is not None
    assert gateway.simulator.reply_label("p", "m") == "[simulated p/m]"
