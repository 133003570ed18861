"""The gateway's on-chain side: agents' authorities, settlement, wallets, the owner's actions.

Opening (once, in the app's nursery scope, after the ledger)::

    async with open_onchain(settings, ledger, keystore) as onchain:
        spend = LedgerSpendGuard(ledger, onchain.paying_authority)   # metering.AuthorityLookup
        policy = AccessPolicy(settings.auth, keystore, clock=clock,
                              onchain=onchain.onchain_policy)        # auth.policy "onchain"
        await nursery.start(onchain.run_settlement)                  # the settlement worker
        ...                                                          # stops when this exits

An agent token's ``iss`` is the agent key's CAIP-10: ``paying_authority`` (or
``authority_of``) finds its authority on-chain, caches it briefly and mirrors it into the
ledger, whose ``reserve`` then enforces the caps, the expiry and revocation. Views:
``transactions(identity | None)`` (``GET /v1/transactions``), ``balance_lookup(identity)``
(``/v1/balance``, a ``metering.WalletLookup``), ``reconcile()`` (``bitrouter ledger
reconcile``). ``owner`` holds the master key's actions behind ``bitrouter swig``. Chains open on
first use, so a gateway that never touches one never starts its embedded node. See
``specs/onchain.md`` ("Gateway: authorities and settlement").
"""

from gateway.onchain._parties import OPERATOR_LABEL, authority_key
from gateway.onchain._service import Onchain, open_onchain
from gateway.onchain._types import (
    AgentGrant,
    AgentRecord,
    AgentStatus,
    AgentView,
    AuthorityReconciliation,
    ReconcileReport,
    SettlementRecord,
    SettleReport,
    WalletBalance,
)

__all__ = [
    "OPERATOR_LABEL",
    "AgentGrant",
    "AgentRecord",
    "AgentStatus",
    "AgentView",
    "AuthorityReconciliation",
    "Onchain",
    "ReconcileReport",
    "SettleReport",
    "SettlementRecord",
    "WalletBalance",
    "authority_key",
    "open_onchain",
]
