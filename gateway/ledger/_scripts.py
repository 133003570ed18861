"""The ledger's transactions, written once over the ``Tx`` interface and run by every store.

Each script is synchronous and runs inside one store transaction, so what it reads and what it
writes form one atomic step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gateway.ledger._rules import Policy, Window, budget_window, decide, headroom
from gateway.ledger._store import AccountRow, AuthorityRow, Close, EntryRow, Loaded, NewEntry, Tx
from gateway.ledger._types import CallUsage, Charge, Principal, Reservation, ReserveRequest

__all__ = ["Finish", "PrincipalState", "finish", "principal_state", "reserve"]


def reserve(tx: Tx, request: ReserveRequest, policy: Policy, now_ms: int) -> Reservation:
    """Hold ``request.amount`` against every limit of its principal, or raise the refusal."""
    principal = request.principal
    window = budget_window(principal.limits, now_ms)
    loaded = tx.load(principal.identity, principal.authority, window, lock=True)
    used = _used(loaded, window)
    grant = decide(
        principal,
        request.amount,
        request.tokens,
        loaded.account,
        loaded.authority,
        used,
        policy,
        now_ms,
    )
    limits, budget_range = principal.limits, principal.limits.budget_range
    caps = loaded.authority.limits if loaded.authority is not None else None
    deadline_ms = grant.t_ms + policy.ttl_ms
    entry = NewEntry(
        identity=principal.identity,
        token_key=principal.token_key,
        authority=principal.authority,
        request_id=request.request_id,
        kind=request.kind,
        subject=request.subject,
        reserved=request.amount,
        tokens_est=request.tokens,
        t_ms=grant.t_ms,
        deadline_ms=deadline_ms,
        b_limit=limits.budget,
        b_since_ms=window.since_ms if window is not None else None,
        b_rounds=budget_range.count if budget_range and budget_range.kind == "rounds" else None,
        b_seconds=budget_range.count if budget_range and budget_range.kind == "duration" else None,
        cap_tx=caps.per_tx_cap if caps else None,
        cap_total=caps.cumulative_cap if caps else None,
    )
    entry_id = tx.add_reservation(entry, grant)
    return Reservation(
        id=entry_id,
        identity=principal.identity,
        authority=principal.authority,
        amount=request.amount,
        tokens=request.tokens,
        kind=request.kind,
        subject=request.subject,
        request_id=request.request_id,
        reserved_at=grant.t_ms / 1000,
        deadline=deadline_ms / 1000,
    )


def _used(loaded: Loaded, window: Window | None) -> int:
    if window is None:
        return 0
    if window.is_everything:
        return loaded.account.spent + loaded.account.reserved
    return loaded.window_sum


@dataclass(frozen=True, slots=True)
class Finish:
    """How to finish an entry: charge ``cost`` (clamped to the reservation), release it
    (``cost`` None), or recover it (charge the whole reservation; open entries only)."""

    cost: int | None
    usage: CallUsage | None
    recovering: bool = False


def _unchanged(row: EntryRow) -> Charge:
    status: Literal["charged", "released"] = "charged" if row.status == "charged" else "released"
    return Charge(row.id, status, row.cost, row.reserved - row.cost, row.overage, changed=False)


def finish(tx: Tx, entry_id: int, how: Finish, policy: Policy, now_ms: int) -> Charge:
    """Charge, release or recover an entry, moving its hold into ``spent`` (or out of it).

    An open entry is finished. An entry that recovery charged may be corrected once by the
    caller's own charge or release, downwards only and only before it is settled. Anything else
    is already final and is left as it is.
    """
    row = tx.load_entry(entry_id)
    if row is None:
        raise ValueError(f"no reservation {entry_id} in the ledger")
    correcting = row.status == "charged" and row.recovered and not row.settled
    if row.status != "open" and not (correcting and not how.recovering):
        return _unchanged(row)
    asked = row.reserved if how.recovering else (how.cost or 0)
    cost = min(asked, row.reserved)
    released = how.cost is None and not how.recovering
    status: Literal["charged", "released"] = "released" if released else "charged"
    if how.usage is not None:
        outcome = how.usage.outcome
    else:
        outcome = "expired" if how.recovering else status
    if row.status == "open":
        spent, reserved = cost, -row.reserved
    else:
        spent, reserved = cost - row.cost, 0
    tk_shift = 0.0
    interval = policy.token_interval()
    if interval and how.usage is not None and row.status == "open":
        used = how.usage.tokens.prompt + how.usage.tokens.completion
        tk_shift = (used - row.tokens_est) * interval
    close = Close(
        status=status,
        cost=cost,
        overage=asked - cost,
        recovered=how.recovering,
        usage=how.usage,
        outcome=outcome,
        done_ms=now_ms,
        spent=spent,
        reserved=reserved,
        tk_shift=tk_shift,
    )
    tx.close_entry(row, close)
    return Charge(entry_id, status, cost, row.reserved - cost, close.overage, changed=True)


@dataclass(frozen=True, slots=True)
class PrincipalState:
    """A principal's rows and budget use, read together for balance and headroom."""

    account: AccountRow
    authority: AuthorityRow | None
    window_used: int
    headroom: int | None
    limited_by: str | None


def principal_state(tx: Tx, principal: Principal, now_ms: int) -> PrincipalState:
    """Read a principal's rows and work out its headroom (no locks, nothing written)."""
    window = budget_window(principal.limits, now_ms)
    loaded = tx.load(principal.identity, principal.authority, window, lock=False)
    used = _used(loaded, window)
    amount, limited_by = headroom(principal, loaded.account, loaded.authority, used, now_ms)
    return PrincipalState(loaded.account, loaded.authority, used, amount, limited_by)
