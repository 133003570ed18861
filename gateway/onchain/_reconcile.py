"""``ledger reconcile``: this gateway's payments as the chain holds them, against the ledger.

Per authority: every settlement of the journal is looked up on-chain by its reference. The
payments found add up to ``onchain_paid``, which must equal what the ledger marks settled; a
payment on-chain that the journal has not recorded, a recorded one the chain does not hold, or
an amount that differs is a difference. Charges the ledger holds but no settlement paid (for
example, served before the owner revoked the agent) are reported as ``unpaid``.
"""

from __future__ import annotations

from gateway.errors import ChainError
from gateway.ledger import Ledger
from gateway.onchain._authorities import AuthorityBook
from gateway.onchain._pool import ChainPool
from gateway.onchain._store import SettlementStore
from gateway.onchain._types import (
    AgentRecord,
    AuthorityReconciliation,
    ReconcileReport,
    SettlementRecord,
)

__all__ = ["reconcile"]


async def _check_settlements(
    pool: ChainPool, agent: AgentRecord, records: list[SettlementRecord]
) -> tuple[int, list[str]]:
    backend = await pool.get(agent.chain)
    paid = 0
    differences: list[str] = []
    for record in records:
        if record.status == "refused":
            continue
        found = await backend.find_payment(record.owner, record.agent, record.reference)
        ref = record.reference.hex()[:16]
        if found is None:
            if record.status in ("paid", "recorded"):
                differences.append(
                    f"settlement {ref}… is recorded as paid by {record.tx_id} but the chain "
                    "holds no such payment"
                )
            continue
        paid += found.amount
        if found.amount != record.amount:
            differences.append(
                f"settlement {ref}… paid {found.amount} on-chain, the journal says {record.amount}"
            )
        if record.status == "sending":
            differences.append(
                f"settlement {ref}… was paid on-chain ({found.tx_id or 'transaction unknown'}) "
                "but is not recorded yet (the settlement worker records it on its next cycle)"
            )
    return paid, differences


async def _one(
    ledger: Ledger,
    pool: ChainPool,
    agent: AgentRecord,
    records: list[SettlementRecord],
) -> AuthorityReconciliation:
    paid, differences = await _check_settlements(pool, agent, records)
    row = await ledger.authority(agent.authority)
    settled = 0 if row is None else row.settled
    spent = 0 if row is None else row.spent
    if paid != settled:
        differences.append(
            f"on-chain payments total {paid} µUSD but the ledger marks {settled} µUSD settled"
        )
    try:
        backend = await pool.get(agent.chain)
        state = await backend.read_authority(agent.owner, agent.agent)
        chain_paid = None if state is None else state.paid
    except ChainError as exc:
        differences.append(f"the authority could not be read: {exc.message}")
        chain_paid = None
    return AuthorityReconciliation(
        authority=agent.authority,
        chain=agent.chain,
        owner=agent.owner,
        agent=agent.agent,
        label=agent.label,
        onchain_paid=paid,
        ledger_settled=settled,
        unpaid=max(0, spent - settled),
        reserved=0 if row is None else row.reserved,
        chain_paid=chain_paid,
        differences=tuple(differences),
    )


async def reconcile(
    ledger: Ledger, store: SettlementStore, pool: ChainPool, book: AuthorityBook
) -> ReconcileReport:
    """Compare on-chain payments with the ledger for every authority either one knows."""
    records = await store.settlements(limit=None)
    keys = {r.authority for r in records}
    keys |= {c.authority for c in await ledger.unsettled(limit=100_000)}
    keys |= {a.authority for a in await store.agents()}
    results: list[AuthorityReconciliation] = []
    differences: list[str] = []
    for key in sorted(keys):
        agent = await book.find_agent(key)
        mine = [r for r in records if r.authority == key]
        if agent is None and mine:
            first = mine[0]
            agent = AgentRecord(key, first.chain, first.owner, first.agent, None, first.created_at)
        if agent is None:
            row = await ledger.authority(key)
            unpaid = 0 if row is None else row.spent - row.settled
            differences.append(f"{key}: {unpaid} µUSD charged under an authority of no known owner")
            continue
        result = await _one(ledger, pool, agent, mine)
        results.append(result)
        differences += [f"{key}: {line}" for line in result.differences]
    return ReconcileReport(
        ok=not differences,
        authorities=tuple(results),
        onchain_paid=sum(r.onchain_paid for r in results),
        ledger_settled=sum(r.ledger_settled for r in results),
        unpaid=sum(r.unpaid for r in results),
        differences=tuple(differences),
    )
