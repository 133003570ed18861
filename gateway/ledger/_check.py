"""The ledger's invariants, checked by replaying every entry (pure; every store feeds it rows).

For every identity and authority: ``spent`` is the sum of its charges, ``reserved`` the sum of
its open reservations, ``settled`` the sum of its settled charges; every minute and hour total
of an identity is what its entries in that minute or hour hold. For every entry: its cost is
within its reservation, and the limits it was granted under still hold when the window it saw
is summed with today's amounts (amounts only ever shrink after a reservation, so a correct
ledger always passes).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field

from gateway.ledger._rules import BUCKETS, bucket_start, format_usd
from gateway.ledger._store import CheckRow, CheckRows
from gateway.ledger._views import CheckReport

__all__ = ["replay"]


@dataclass(slots=True)
class _Totals:
    spent: int = 0
    reserved: int = 0
    settled: int = 0
    requests: int = 0
    ids: list[int] = field(default_factory=list)
    times: list[int] = field(default_factory=list)
    prefix: list[int] = field(default_factory=lambda: [0])

    def add(self, row: CheckRow) -> None:
        if row.status == "open":
            self.reserved += row.reserved
        elif row.status == "charged":
            self.spent += row.cost
            self.settled += row.cost if row.settled else 0
        self.requests += 1
        self.ids.append(row.id)
        self.times.append(row.t_ms)
        self.prefix.append(self.prefix[-1] + row.hold)


def _entry_breaches(row: CheckRow) -> list[str]:
    out = []
    if row.cost > row.reserved:
        out.append(f"entry {row.id}: cost {row.cost} exceeds its reservation {row.reserved}")
    expected = row.reserved if row.status == "open" else row.cost
    if row.hold != expected:
        out.append(f"entry {row.id}: holds {row.hold} µUSD, expected {expected}")
    if row.status == "released" and row.cost != 0:
        out.append(f"entry {row.id}: released but charged {row.cost}")
    if row.cap_tx is not None and row.reserved > row.cap_tx:
        out.append(f"entry {row.id}: reserved {row.reserved} over the per-tx cap {row.cap_tx}")
    return out


def _budget_breach(row: CheckRow, totals: _Totals) -> str | None:
    if row.b_limit is None:
        return None
    index = len(totals.ids) - 1  # the row was just added
    start = 0 if row.b_since_ms is None else bisect_left(totals.times, row.b_since_ms, 0, index)
    if row.b_rounds is not None:
        start = max(start, index - row.b_rounds + 1)
    used = totals.prefix[index + 1] - totals.prefix[start]
    if used > row.b_limit:
        return (
            f"entry {row.id}: the budget window of {row.identity} holds {format_usd(used)}, "
            f"over its budget of {format_usd(row.b_limit)}"
        )
    return None


def _compare(kind: str, name: str, have: tuple[int, int, int], want: _Totals) -> list[str]:
    out = []
    for label, value, expected in zip(
        ("spent", "reserved", "settled"),
        have,
        (want.spent, want.reserved, want.settled),
        strict=True,
    ):
        if value != expected:
            out.append(f"{kind} {name}: {label} is {value} µUSD but its entries sum to {expected}")
    return out


def _bucket_breaches(rows: CheckRows) -> list[str]:
    if rows.buckets is None:
        return []
    expected: dict[tuple[str, int, int], int] = defaultdict(int)
    for entry in rows.entries:
        for level, size in BUCKETS:
            expected[entry.identity, level, bucket_start(entry.t_ms, size)] += entry.hold
    stored = {(b[0], b[1], b[2]): b[3] for b in rows.buckets}
    return [
        f"identity {key[0]}: the level-{key[1]} bucket at {key[2]} holds {stored.get(key, 0)} "
        f"µUSD but its entries hold {expected.get(key, 0)}"
        for key in sorted(stored.keys() | expected.keys())
        if stored.get(key, 0) != expected.get(key, 0)
    ]


def replay(rows: CheckRows, now_ms: int) -> CheckReport:
    """Check every invariant; a report naming each breach (one line each)."""
    accounts, authorities, entries = rows.accounts, rows.authorities, rows.entries
    breaches: list[str] = []
    warnings: list[str] = []
    by_identity: dict[str, _Totals] = defaultdict(_Totals)
    by_authority: dict[str, _Totals] = defaultdict(_Totals)
    stale = 0
    for row in entries:
        breaches += _entry_breaches(row)
        totals = by_identity[row.identity]
        if totals.times and row.t_ms < totals.times[-1]:
            breaches.append(f"entry {row.id}: its time goes back before an earlier entry's")
        totals.add(row)
        budget = _budget_breach(row, totals)
        if budget is not None:
            breaches.append(budget)
        if row.authority is not None:
            agent = by_authority[row.authority]
            agent.add(row)
            if row.cap_total is not None and agent.prefix[-1] > row.cap_total:
                breaches.append(
                    f"entry {row.id}: authority {row.authority} holds "
                    f"{format_usd(agent.prefix[-1])}, over its cumulative cap of "
                    f"{format_usd(row.cap_total)}"
                )
        if row.status == "open" and row.deadline_ms < now_ms:
            stale += 1
    if stale:
        warnings.append(f"{stale} open reservations are past their deadline (not yet recovered)")
    known = {a.identity for a in accounts}
    for account in accounts:
        have = (account.spent, account.reserved, account.settled)
        breaches += _compare("identity", account.identity, have, by_identity[account.identity])
        if account.requests != by_identity[account.identity].requests:
            breaches.append(f"identity {account.identity}: request count does not match entries")
    breaches += [
        f"identity {i}: entries without an account row" for i in by_identity if i not in known
    ]
    agents = {a.limits.authority for a in authorities}
    for agent_row in authorities:
        name = agent_row.limits.authority
        have = (agent_row.spent, agent_row.reserved, agent_row.settled)
        breaches += _compare("authority", name, have, by_authority[name])
        cap = agent_row.limits.cumulative_cap
        if cap is not None and agent_row.spent + agent_row.reserved > cap:
            warnings.append(
                f"authority {name}: holds more than its current cumulative cap "
                "(the cap was lowered after the spending)"
            )
    breaches += [
        f"authority {a}: entries without an authority row" for a in by_authority if a not in agents
    ]
    breaches += _bucket_breaches(rows)
    return CheckReport(
        ok=not breaches,
        breaches=tuple(breaches),
        warnings=tuple(warnings),
        identities=len(accounts),
        authorities=len(authorities),
        entries=len(entries),
        open_reservations=sum(1 for e in entries if e.status == "open"),
        spent=sum(a.spent for a in accounts),
        reserved=sum(a.reserved for a in accounts),
    )
