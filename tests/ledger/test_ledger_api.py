"""The ledger package's public API and its input types (integer µUSD, valid limits)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import gateway.ledger as ledger_pkg
from gateway.ledger import (
    AuthorityLimits,
    BudgetRange,
    Principal,
    ReserveRequest,
    TokenLimits,
)


def test_public_api_is_exactly_all() -> None:
    public = {name for name in dir(ledger_pkg) if not name.startswith("_")}
    assert set(ledger_pkg.__all__) == public - {"annotations"}
    for name in ledger_pkg.__all__:
        value = getattr(ledger_pkg, name)
        if isinstance(value, type) or (callable(value) and hasattr(value, "__code__")):
            assert value.__doc__, name


def test_a_sqlite_ledger_does_not_load_the_postgres_driver(tmp_path: Path) -> None:
    probe = (
        "import sys, trio\n"
        "from gateway.ledger import open_ledger\n"
        "async def main():\n"
        "    async with open_ledger('sqlite:///' + sys.argv[1]) as ledger:\n"
        "        print(type(ledger).__name__, 'psycopg' in sys.modules)\n"
        "trio.run(main)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "ledger.db")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == ["Ledger", "False"]


@pytest.mark.req("SPEND-1")
@pytest.mark.parametrize("amount", [-1, 1.5, True, "5"])
def test_amounts_are_non_negative_integers(amount: object) -> None:
    with pytest.raises(ValueError, match="amount"):
        ReserveRequest(Principal("solana:a:b"), amount)  # type: ignore[arg-type]


@pytest.mark.req("SPEND-1")
def test_budgets_caps_and_balances_are_integers() -> None:
    with pytest.raises(ValueError, match="budget"):
        TokenLimits(budget=0.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="per_tx_cap"):
        AuthorityLimits("solana:a:agent", per_tx_cap=-5)
    with pytest.raises(ValueError, match="cumulative_cap"):
        AuthorityLimits("solana:a:agent", cumulative_cap=1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="balance"):
        Principal("solana:a:b", balance=-1)
    assert ReserveRequest(Principal("solana:a:b"), 5_000_000).amount == 5_000_000


def test_budget_range_from_cli_text_and_from_claim() -> None:
    assert BudgetRange.parse("rounds:10") == BudgetRange("rounds", 10)
    assert BudgetRange.parse("duration:3600s") == BudgetRange("duration", 3600)
    assert BudgetRange.from_claim({"type": "duration", "seconds": 60}) == BudgetRange(
        "duration", 60
    )
    assert BudgetRange.from_claim({"type": "rounds", "count": 3}) == BudgetRange("rounds", 3)
    assert str(BudgetRange("rounds", 3)) == "rounds:3"
    for bad in ("rounds:0", "rounds:x", "weeks:2", "duration"):
        with pytest.raises(ValueError):
            BudgetRange.parse(bad)
    with pytest.raises(ValueError):
        BudgetRange.from_claim({"type": "rounds", "seconds": 3})


def test_principal_and_request_reject_nonsense() -> None:
    with pytest.raises(ValueError, match="identity"):
        Principal("")
    with pytest.raises(ValueError, match="kind"):
        ReserveRequest(Principal("solana:a:b"), 1, kind="mcp")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="budget_scope"):
        TokenLimits(budget=1, budget_scope="global")  # type: ignore[arg-type]
