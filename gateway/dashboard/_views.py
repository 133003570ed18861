"""What each panel shows, computed from a snapshot (plain text and table rows; no widgets)."""

from __future__ import annotations

import time

from gateway.dashboard._format import bars, count, moment, short, usd
from gateway.dashboard._reader import Snapshot
from gateway.dashboard._wire import Authority, Balance, Summary, UsageRecord

__all__ = [
    "AGENT_COLUMNS",
    "TX_COLUMNS",
    "USAGE_COLUMNS",
    "WALLET_COLUMNS",
    "agent_rows",
    "money_text",
    "spend_lines",
    "status_text",
    "tx_rows",
    "usage_detail",
    "usage_rows",
    "wallet_rows",
]

Row = tuple[str, ...]
WALLET_COLUMNS = ("Chain", "Wallet", "USDC")
AGENT_COLUMNS = ("Agent", "Chain", "Per tx", "Cap", "Paid", "Left", "Expires", "State")
USAGE_COLUMNS = ("Time", "Model", "Tokens in/out", "Cost", "Result")
TX_COLUMNS = ("Time", "Chain", "Agent", "Amount", "Status", "Transaction")


def status_text(snapshot: Snapshot) -> str:
    """The top line: whether the server answers, what it runs, when this was read."""
    updated = time.strftime("%H:%M:%S", time.localtime(snapshot.fetched_at))
    health = snapshot.health
    if health is None:
        reason = snapshot.errors.get("health", "no answer")
        return f"○ server down: {reason} · {updated}"
    simulated = " · SIMULATOR" if health.simulator else ""
    return (
        f"● {health.status} {health.listen or snapshot.url} · v{health.version} · "
        f"mode {health.mode}{simulated} · {updated}"
    )


def money_text(balance: Balance | None, errors: dict[str, str]) -> str:
    """Spent, reserved, settled, remaining and expiry of the caller's identity (two lines)."""
    if balance is None:
        return f"Balance: {errors.get('balance') or errors.get('token', 'unavailable')}"
    expires = "never" if balance.expires_at is None else moment(balance.expires_at)
    first = f"Spent {usd(balance.spent_micro_usd)} · Reserved {usd(balance.reserved_micro_usd)}"
    if balance.settled_micro_usd is not None:
        first += f" · Settled on-chain {usd(balance.settled_micro_usd)}"
    second = f"Remaining {usd(balance.remaining_micro_usd)} · Expires {expires}"
    if balance.requests is not None:
        second += f" · {count(balance.requests)} requests"
    return f"{first}\n{second}"


def wallet_rows(balance: Balance | None) -> list[Row]:
    """One row per wallet: chain, address, USDC balance."""
    if balance is None:
        return []
    return [
        (w.chain, short(w.address, 8), "—" if w.usdc_micro_usd is None else usd(w.usdc_micro_usd))
        for w in balance.wallets
    ]


def _state(authority: Authority, now: float) -> str:
    if authority.revoked:
        return "revoked"
    expires = authority.expires_at
    if isinstance(expires, int | float) and expires <= now:
        return "expired"
    return "active"


def agent_rows(balance: Balance | None, now: float | None = None) -> list[Row]:
    """One row per agent authority (the caller's own first): caps, paid, left, expiry, state."""
    if balance is None:
        return []
    now = time.time() if now is None else now
    seen: set[tuple[str, str]] = set()
    rows: list[Row] = []
    own = [balance.authority] if balance.authority else []
    for a in [*own, *balance.agents]:
        if (a.chain, a.agent) in seen:
            continue
        seen.add((a.chain, a.agent))
        rows.append(
            (
                short(a.agent, 4),
                a.chain,
                usd(a.per_tx_cap),
                usd(a.cumulative_cap),
                usd(a.paid),
                usd(a.remaining),
                moment(a.expires_at, now=now),
                _state(a, now),
            )
        )
    return rows


def usage_rows(snapshot: Snapshot) -> list[Row]:
    """The latest requests: time, model, tokens in/out, cost, outcome (details: usage_detail)."""
    if snapshot.usage is None:
        return []
    return [
        (
            moment(r.created_at),
            r.subject[:28],
            f"{count(r.prompt_tokens)}/{count(r.completion_tokens)}",
            usd(r.cost_micro_usd),
            "✓" if r.outcome in ("ok", "success") else r.outcome[:8],
        )
        for r in snapshot.usage.data
    ]


def usage_detail(record: UsageRecord | None) -> str:
    """One line on a request: its id, kind, provider, latency and outcome."""
    if record is None:
        return ""
    latency = "" if record.latency_ms is None else f" · {record.latency_ms:.0f} ms"
    return (
        f"{record.request_id} · {record.kind or 'request'} · {record.subject} via "
        f"{record.provider or '?'}{latency} · {record.outcome or '?'}"
    )


def spend_lines(summary: Summary | None, width: int, errors: dict[str, str]) -> list[str]:
    """A bar per model, largest spend first, fitting ``width`` columns."""
    if summary is None:
        return [f"Spend by model: {errors.get('summary', 'unavailable')}"]
    rows = sorted(summary.data, key=lambda r: (-r.cost_micro_usd, r.key))
    if not rows:
        return ["No spending yet."]
    label_width = min(28, max(len(r.key) for r in rows))
    money = [usd(r.cost_micro_usd) for r in rows]
    money_width = max(len(m) for m in money)
    bar_width = max(4, width - label_width - money_width - 14)
    drawn = bars([(r.key, r.cost_micro_usd) for r in rows], bar_width)
    lines = [
        f"{r.key[:label_width]:<{label_width}} {b:<{bar_width}} {m:>{money_width}} "
        f"{r.requests:>5} req"
        for r, (_, b), m in zip(rows, drawn, money, strict=True)
    ]
    lines.append(f"{'Total':<{label_width}} {'':<{bar_width}} {usd(summary.total_cost_micro_usd)}")
    return lines


def tx_rows(snapshot: Snapshot) -> list[Row]:
    """On-chain settlements: time, chain, agent, amount, status, transaction id."""
    if snapshot.transactions is None:
        return []
    return [
        (
            moment(t.created_at),
            t.chain,
            short(t.agent, 4),
            usd(t.amount_micro_usd),
            t.status,
            short(t.tx_id, 6),
        )
        for t in snapshot.transactions.data
    ]
