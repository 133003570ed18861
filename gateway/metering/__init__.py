"""Metering: the one spending guard every face uses, over the ledger."""

from gateway.metering._balance import WalletLookup, balance_view
from gateway.metering._guard import AuthorityLookup, LedgerSpendGuard, ledger_principal
from gateway.metering._quotes import LedgerQuoteStore

__all__ = [
    "AuthorityLookup",
    "LedgerQuoteStore",
    "LedgerSpendGuard",
    "WalletLookup",
    "balance_view",
    "ledger_principal",
]
