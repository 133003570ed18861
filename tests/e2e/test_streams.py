"""Streams through a real gateway process: cut off at the reservation when the provider ignores
the output limit, charged for what was delivered when the client goes away, and priced the same
as the same call not streamed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio
from openai import OpenAI

from gateway.identity import Keystore, mint_token
from gateway.tokenizer import count_text_tokens
from tests.e2e.stack import (
    MODEL,
    SimulatorProcess,
    Stack,
    chat_body,
    check_report,
    cost_of,
    ledger_check,
    write_home,
)
from tests.e2e.wire import open_events, post, request

CHAT = "/v1/chat/completions"


class Served:
    """One simulator and one gateway on a SQLite home."""

    def __init__(self, stack: Stack, home: Path) -> None:
        self.stack = stack
        self.home = home
        self.sim: SimulatorProcess = stack.simulator()
        self.keystore: Keystore = write_home(home, self.sim.url)
        for label in ("cut", "gone", "same"):
            self.keystore.create_agent(label)
        [self.gateway] = stack.gateways(home)

    @property
    def url(self) -> str:
        return self.gateway.url

    async def usage_row(self, token: str, request_id: str) -> dict[str, Any]:
        """The caller's finished call with this request id, once the gateway has recorded it."""
        with trio.fail_after(30):
            while True:
                rows = (await request(self.url, "GET", "/v1/usage?limit=100", token)).json()
                for row in rows["data"]:
                    if row["request_id"] == request_id:
                        return dict(row)
                await trio.sleep(0.05)


@pytest.fixture
def served(stack: Stack, tmp_path: Path) -> Iterator[Served]:
    yield Served(stack, tmp_path / "home")


def _text(event: dict[str, Any]) -> str:
    return "".join((c.get("delta") or {}).get("content") or "" for c in event.get("choices") or ())


async def _stream_with_budget_cut(served: Served) -> None:
    budget = 300
    token = mint_token(served.keystore, agent="cut", budget=budget)
    # No max_tokens: the gateway sizes the limit to the budget; the provider ignores it and
    # would send 2,000 tokens.
    body = chat_body("[[sim:ignore_max_tokens,tokens=2000]] Tell me a story", 1, stream=True)
    del body["max_tokens"]
    events = []
    async with open_events(served.url, CHAT, token, body, "cut-1") as stream:
        assert stream.status == 200
        while (event := await stream.next()) is not None:
            events.append(event)
    text = "".join(_text(e) for e in events)
    [last_choice] = [e for e in events if e.get("choices") and e["choices"][0]["finish_reason"]]
    assert last_choice["choices"][0]["finish_reason"] == "length"
    assert last_choice["error"]["code"] == "reservation_exhausted"
    usage = events[-1]["usage"]
    row = await served.usage_row(token, "cut-1")
    assert row["outcome"] == "length_cut"
    assert row["cost_micro_usd"] == usage["cost_micro_usd"] <= row["reserved_micro_usd"] <= budget
    assert row["completion_tokens"] == count_text_tokens(text, "openai") < 2_000
    assert usage["cost_micro_usd"] == cost_of(row["prompt_tokens"], row["completion_tokens"])
    # The limit sent upstream was what the reservation covers; the provider sent more.
    [sent] = [
        r for r in (await served.sim.stats())["recent"] if r.get("completion_tokens") == 2_000
    ]
    assert cost_of(row["prompt_tokens"], sent["max_tokens"]) <= row["reserved_micro_usd"]
    balance = (await request(served.url, "GET", "/v1/balance", token)).json()
    assert balance["spent_micro_usd"] == usage["cost_micro_usd"]
    assert balance["reserved_micro_usd"] == 0


async def _provider_ignores_max_tokens(served: Served) -> None:
    token = mint_token(served.keystore, agent="cut")
    text = "[[sim:ignore_max_tokens,tokens=500]] Keep going"
    events = []
    body = chat_body(text, 30, stream=True)
    async with open_events(served.url, CHAT, token, body, "over-1") as stream:
        while (event := await stream.next()) is not None:
            events.append(event)
    delivered = count_text_tokens("".join(_text(e) for e in events), "openai")
    assert events[-1]["usage"]["completion_tokens"] == delivered <= 30
    row = await served.usage_row(token, "over-1")
    assert (row["outcome"], row["completion_tokens"]) == ("length_cut", delivered)
    assert row["cost_micro_usd"] <= row["reserved_micro_usd"]
    # Not streamed, the whole 500-token reply arrives, but only the 30 asked for are billed.
    reply = await post(served.url, CHAT, token, chat_body(text, 30), {"x-request-id": "over-2"})
    usage = reply.json()["usage"]
    row = await served.usage_row(token, "over-2")
    assert row["cost_micro_usd"] == usage["cost_micro_usd"] == cost_of(usage["prompt_tokens"], 30)
    assert row["cost_micro_usd"] <= row["reserved_micro_usd"]


async def _client_leaves_mid_stream(served: Served) -> None:
    token = mint_token(served.keystore, agent="gone")
    body = chat_body("[[sim:tokens=400,chunk_delay_ms=20]] Go on", 1000, stream=True)
    received = ""
    async with open_events(served.url, CHAT, token, body, "gone-1") as stream:
        assert stream.status == 200
        chunks = 0
        while chunks < 20:
            event = await stream.next()
            assert event is not None
            received += _text(event)
            chunks += bool(_text(event))
    # The connection is closed: the gateway must stop the upstream call and charge what it
    # delivered — at least what this client read, and far from the 400 tokens of the reply.
    row = await served.usage_row(token, "gone-1")
    assert row["outcome"] == "cancelled"
    assert count_text_tokens(received, "openai") <= row["completion_tokens"] < 200
    assert row["cost_micro_usd"] == cost_of(row["prompt_tokens"], row["completion_tokens"])
    balance = (await request(served.url, "GET", "/v1/balance", token)).json()
    assert balance["spent_micro_usd"] == row["cost_micro_usd"]
    assert balance["reserved_micro_usd"] == 0


async def _same_content_costs_the_same(served: Served) -> None:
    token = mint_token(served.keystore, agent="same")
    client = OpenAI(base_url=f"{served.url}/v1", api_key=token, max_retries=0)
    messages: Any = [{"role": "user", "content": "[[sim:tokens=40]] Compare me"}]

    def plain() -> Any:
        return client.chat.completions.create(model=MODEL, messages=messages, max_tokens=64)

    def streamed() -> tuple[str, Any]:
        chunks = list(
            client.chat.completions.create(
                model=MODEL,
                messages=messages,
                max_tokens=64,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        return text, chunks[-1].usage

    reply = await trio.to_thread.run_sync(plain)
    text, usage = await trio.to_thread.run_sync(streamed)
    assert text == reply.choices[0].message.content
    assert (usage.prompt_tokens, usage.completion_tokens) == (
        reply.usage.prompt_tokens,
        reply.usage.completion_tokens,
    )
    cost = (reply.usage.model_extra or {})["cost_micro_usd"]
    assert (usage.model_extra or {})["cost_micro_usd"] == cost
    assert cost == cost_of(reply.usage.prompt_tokens, reply.usage.completion_tokens) > 0
    rows = (await request(served.url, "GET", "/v1/usage", token)).json()["data"]
    assert [r["cost_micro_usd"] for r in rows] == [cost, cost]


@pytest.mark.req("SPEND-4")
@pytest.mark.req("SPEND-15")
async def test_streams_are_cut_at_the_reservation_and_charged_for_what_was_delivered(
    served: Served,
) -> None:
    # One gateway serves the three cases: starting one costs more than all of them.
    await _stream_with_budget_cut(served)
    await _provider_ignores_max_tokens(served)
    await _client_leaves_mid_stream(served)
    await _same_content_costs_the_same(served)
    done = ledger_check(served.home, served.stack.env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert check_report(done)["open_reservations"] == 0
