"""Results render as HTML tables and charts in a notebook, and become data frames."""

from __future__ import annotations

import re
import sys

import pytest

from agents import ChatResult, ModelList, RouteDecision
from gateway import Gateway
from tests.agents.client.conftest import MODEL


def _cells(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", html)]


@pytest.mark.req("NB-6")
def test_a_route_shows_a_table_and_a_cost_chart_and_is_a_frame(gw: Gateway) -> None:
    with gw.client() as client:
        decision = client.route(MODEL)
    html = decision._repr_html_()
    assert isinstance(decision, RouteDecision)
    assert f"{decision.model} → {decision.chosen}" in html
    cells = _cells(html)
    for candidate in decision.candidates:
        assert candidate.provider in cells
        assert f"{candidate.expected_cost_micro_usd:,}" in cells
    bars = re.findall(r"<rect [^>]*width=\"(\d+)\"", html)
    assert len(bars) == len(decision.candidates)  # one bar per candidate
    costs = [c.expected_cost_micro_usd for c in decision.candidates]
    assert bars[costs.index(max(costs))] == "220"  # the dearest fills the chart
    frame = decision.to_pandas()
    assert list(frame["provider"]) == [c.provider for c in decision.candidates]
    assert list(frame["expected_cost_micro_usd"]) == costs


@pytest.mark.req("NB-6")
def test_a_reply_shows_its_text_provider_and_cost(gw: Gateway) -> None:
    with gw.client() as client:
        reply = client.chat(MODEL, "Show <yourself> & all", max_tokens=30)
    html = reply._repr_html_()
    assert isinstance(reply, ChatResult)
    assert reply.text.split()[0] in html
    cells = _cells(html)
    assert reply.provider in cells and f"{reply.cost_micro_usd:,}" in cells
    assert f"${reply.cost_micro_usd / 1e6:.6f}" in cells  # the same cost in dollars


@pytest.mark.req("NB-6")
def test_models_are_one_frame_row_per_offer_and_a_short_table(gw: Gateway) -> None:
    with gw.client() as client:
        models = client.models()
    assert isinstance(models, ModelList) and len(models) > 200
    frame = models.to_pandas()
    assert len(frame) == sum(len(m.providers) for m in models)
    html = models._repr_html_()
    assert html.count("<tr>") == 1 + 25  # header and the first 25 rows
    assert f"… and {len(models) - 25:,} more rows" in html


@pytest.mark.req("NB-6")
def test_summaries_chart_the_spend_and_usage_is_a_frame(gw: Gateway) -> None:
    with gw.client() as client:
        client.chat(MODEL, "one", max_tokens=20)
        client.chat("openai:gpt-4o-mini", "two", max_tokens=20)
        summary = client.usage_summary("model")
        usage = client.usage()
    html = summary._repr_html_()
    assert "<svg" in html and html.count("<rect") == len(summary.groups) >= 2
    assert summary.total_cost_micro_usd == sum(g.cost_micro_usd for g in summary.groups)
    frame = usage.to_pandas()
    assert len(frame) == len(usage) >= 2
    assert int(frame["cost_micro_usd"].sum()) == usage.total_cost_micro_usd


@pytest.mark.req("NB-6")
def test_without_pandas_to_pandas_says_how_to_install_it(
    gw: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    with gw.client() as client:
        decision = client.route(MODEL)
    monkeypatch.setitem(sys.modules, "pandas", None)  # what an interpreter without it does
    with pytest.raises(ImportError, match=r"to_pandas\(\) needs pandas: pip install pandas"):
        decision.to_pandas()
    assert "<table>" in decision._repr_html_()  # rendering never needs it
