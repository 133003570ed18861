"""Metering: the one spending guard every face uses, over the ledger (and an in-memory one
for tests of the faces)."""

from gateway.metering._balance import WalletLookup, balance_view
from gateway.metering._guard import AuthorityLookup, LedgerSpendGuard, ledger_principal
from gateway.metering._memory import MemoryHold, MemorySpendGuard
from gateway.metering._port import HoldT, SpendGuard
from gateway.metering._quotes import LedgerQuoteStore

__all__ = [
    "AuthorityLookup",
    "HoldT",
    "LedgerQuoteStore",
    "LedgerSpendGuard",
    "MemoryHold",
    "MemorySpendGuard",
    "SpendGuard",
    "WalletLookup",
    "balance_view",
    "ledger_principal",
]
