"""Finding grant records and payments in an agent account's on-chain history.

``getSignaturesForAddress`` lists the account's transactions newest first with their memos, so
most entries are ruled out without fetching them; candidates are fetched and verified
(``_records``). Verified records are cached by signature: a landed transaction never changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.pubkey import Pubkey
from solders.signature import Signature

from gateway.chains.solana._records import (
    GrantRecord,
    may_hold_payment,
    may_hold_record,
    parse_payment,
    parse_record,
)
from gateway.chains.solana._rpc import SolanaRpc

__all__ = ["FoundPayment", "HistoryScanner", "Scan"]

PAGE = 1000
_CACHE_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class FoundPayment:
    """A payment found on-chain by its reference."""

    signature: str
    amount: int


@dataclass(slots=True)
class Scan:
    """What a walk back through the history found."""

    record: GrantRecord | None = None
    payment: FoundPayment | None = None


class HistoryScanner:
    """Walks agent accounts' histories through the RPC."""

    def __init__(self, rpc: SolanaRpc) -> None:
        self._rpc = rpc
        self._records: dict[tuple[str, Pubkey, Pubkey], GrantRecord | None] = {}

    async def latest_record(self, owner: Pubkey, account: Pubkey) -> GrantRecord | None:
        """The newest genuine grant or revocation record of ``account``."""
        return (await self._walk(owner, account, record=True, reference=None)).record

    async def since_record(self, owner: Pubkey, account: Pubkey, reference: bytes) -> Scan:
        """The newest record, and the payment with ``reference`` made after it, if any."""
        return await self._walk(owner, account, record=True, reference=reference)

    async def payment(self, account: Pubkey, reference: bytes) -> FoundPayment | None:
        """The payment with ``reference`` anywhere in the history of ``account``."""
        return (
            await self._walk(Pubkey.default(), account, record=False, reference=reference)
        ).payment

    async def _walk(
        self, owner: Pubkey, account: Pubkey, *, record: bool, reference: bytes | None
    ) -> Scan:
        scan = Scan()
        before: Signature | None = None
        while True:
            infos = await self._rpc.signatures(account, before, PAGE)
            for info in infos:
                if info.err is None:
                    want_record = record and scan.record is None and may_hold_record(info.memo)
                    want_payment = (
                        reference is not None
                        and scan.payment is None
                        and may_hold_payment(info.memo, reference)
                    )
                    if want_record or want_payment:
                        await self._inspect(
                            scan,
                            info.signature,
                            owner,
                            account,
                            want_record,
                            reference if want_payment else None,
                        )
                if (scan.record if record else scan.payment) is not None:
                    return scan
            if len(infos) < PAGE:
                return scan
            before = infos[-1].signature

    async def _inspect(
        self,
        scan: Scan,
        signature: Signature,
        owner: Pubkey,
        account: Pubkey,
        want_record: bool,
        reference: bytes | None,
    ) -> None:
        key = (str(signature), owner, account)
        if want_record and key in self._records:
            scan.record, want_record = self._records[key], False
            if reference is None:
                return
        found = await self._rpc.transaction(signature)
        if found is None or found[1] is not None:
            return
        tx = found[0]
        if want_record:
            if len(self._records) >= _CACHE_LIMIT:
                self._records.clear()
            scan.record = self._records[key] = parse_record(tx, str(signature), owner, account)
        if reference is not None:
            amount = parse_payment(tx, account, reference)
            if amount is not None:
                scan.payment = FoundPayment(str(signature), amount)
