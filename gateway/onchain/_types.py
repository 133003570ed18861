"""What the on-chain side reports and remembers: agents, settlements, views, reconciliation."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

from gateway.chains._interface import AuthorityState, ChainFamily

__all__ = [
    "AgentGrant",
    "AgentRecord",
    "AgentStatus",
    "AgentView",
    "AuthorityReconciliation",
    "ReconcileReport",
    "SettleReport",
    "SettlementRecord",
    "SettlementStatus",
    "WalletBalance",
]

SettlementStatus = Literal["sending", "paid", "recorded", "refused"]
AgentStatus = Literal["active", "revoked", "expired", "no_authority"]
# How a settlement shows in ``GET /v1/transactions``.
PUBLIC_STATUS: dict[str, str] = {
    "sending": "pending",
    "paid": "settled",
    "recorded": "settled",
    "refused": "refused",
}


@dataclass(frozen=True, slots=True)
class AgentRecord:
    """An agent key known to hold (or to have held) an authority, and where.

    ``authority`` is the ledger's key for it: the agent's CAIP-10 on the gateway's canonical
    chain id of its namespace (``SOLANA_CHAIN`` / ``EVM_CHAIN``), whatever chain id a token used.
    """

    authority: str
    chain: ChainFamily
    owner: str
    agent: str
    label: str | None
    created_at: float


@dataclass(frozen=True, slots=True)
class SettlementRecord:
    """One settlement payment: the charges it pays, its reference, and what became of it."""

    reference: bytes
    chain: ChainFamily
    authority: str
    owner: str
    agent: str
    payee: str
    amount: int
    charge_ids: tuple[int, ...]
    status: SettlementStatus
    tx_id: str | None
    error: str | None
    error_code: str | None
    created_at: float

    def to_transaction(self) -> dict[str, object]:
        """The ``GET /v1/transactions`` item."""
        return {
            "chain": self.chain,
            "tx_id": self.tx_id,
            "amount_micro_usd": self.amount,
            "agent": self.authority,
            "created_at": self.created_at,
            "status": PUBLIC_STATUS[self.status],
            "reference": self.reference.hex(),
            "charges": len(self.charge_ids),
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class AgentGrant:
    """What ``derive_agent`` did: the agent key and its authority on-chain."""

    label: str
    chain: ChainFamily
    agent: str
    authority: str
    owner: str
    payee: str
    per_tx_cap: int
    cumulative_cap: int
    expires_at: int
    tx_id: str
    new_key: bool

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready mapping."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class AgentView:
    """An agent of this home and its authority as the chain holds it."""

    label: str
    chain: ChainFamily
    agent: str
    authority: str
    state: AuthorityState | None
    status: AgentStatus

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready mapping (amounts in µUSD)."""
        state = self.state
        return {
            "label": self.label,
            "chain": self.chain,
            "agent": self.agent,
            "authority": self.authority,
            "status": self.status,
            "payee": None if state is None else state.payee,
            "per_tx_cap": None if state is None else state.per_tx_cap,
            "cumulative_cap": None if state is None else state.cumulative_cap,
            "paid": None if state is None else state.paid,
            "remaining": None if state is None else state.remaining,
            "spendable": None if state is None else state.spendable,
            "expires_at": None if state is None else state.expires_at,
        }


@dataclass(frozen=True, slots=True)
class WalletBalance:
    """A USDC wallet on one chain (``/v1/balance``, ``swig balance``)."""

    chain: ChainFamily
    address: str
    usdc_micro_usd: int

    def to_dict(self) -> dict[str, object]:
        """``{"chain", "address", "usdc_micro_usd"}``."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class SettleReport:
    """What one settlement cycle did."""

    payments: int = 0
    amount: int = 0
    refused: int = 0
    recovered: int = 0


@dataclass(frozen=True, slots=True)
class AuthorityReconciliation:
    """One authority: this gateway's payments found on-chain against the ledger's books.

    ``onchain_paid`` sums the payments of this gateway's settlement records that the chain
    holds; ``ledger_settled`` is what the ledger marks settled; ``unpaid`` is charged in the
    ledger but not settled (e.g. served before a revocation); ``chain_paid`` is the authority's
    own counter on-chain (it restarts when the owner grants anew).
    """

    authority: str
    chain: ChainFamily
    owner: str
    agent: str
    label: str | None
    onchain_paid: int
    ledger_settled: int
    unpaid: int
    reserved: int
    chain_paid: int | None
    differences: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    """``bitrouter ledger reconcile``: ``ok`` when on-chain payments equal the ledger's."""

    ok: bool
    authorities: tuple[AuthorityReconciliation, ...]
    onchain_paid: int
    ledger_settled: int
    unpaid: int
    differences: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready mapping."""
        return asdict(self)
