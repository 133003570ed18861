"""The chain itself: a LiteSVM, its clock, its blocks and its history.

Determinism is what makes the journal work: a fresh LiteSVM plus the same inputs in the same
order gives the same state. The inputs are the faucet balance set at genesis, each journaled
transaction with the chain time it ran at, and each clock move. Three LiteSVM defaults would break
that or differ from a real node, so the ledger takes them over:

- *Blockhashes.* LiteSVM accepts only its latest blockhash and derives each next one from the
  previous, so the sequence is deterministic. Every journaled transaction ends a block (expire the
  blockhash, slot + 1), so sending the same instructions twice gives different bytes, as on a real
  cluster. LiteSVM's own check is off; the ledger accepts any of the last 150 blockhashes instead,
  so concurrent clients holding a slightly older blockhash still land (like a validator does).
- *Duplicates.* Identical bytes give ``AlreadyProcessed``; replay feeds the same bytes into the
  same history, so the same duplicates are refused again.
- *Clock.* LiteSVM starts at unix time 0; chain time here is ``max(last time, wall + offset)``,
  starting at the wall time on first start and never moving backwards. Clock moves journal the
  offset, and each transaction journals the time it ran at, so replay sets identical clocks.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import base58
import orjson
from solders.account import Account
from solders.litesvm import LiteSVM
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata, TransactionMetadata

from gateway.chains.solana.node._fault import INVALID_PARAMS, RpcFault, preflight_fault
from gateway.chains.solana.node._history import History, TxRecord, memo_text

__all__ = ["Ledger", "Rejected", "Simulation"]

FAUCET_LAMPORTS = 10**18
RECENT_BLOCKHASHES = 150


@dataclass(frozen=True, slots=True)
class Rejected:
    """A transaction the runtime refused before it could land (no fee was charged)."""

    err: Any


@dataclass(frozen=True, slots=True)
class Simulation:
    """The outcome of running a transaction without committing it."""

    err: Any
    logs: list[str]
    units: int


def _err_json(result: FailedTransactionMetadata) -> Any:
    return orjson.loads(result.to_json())["err"]


def _inner_json(meta: TransactionMetadata) -> list[dict[str, Any]]:
    inner = []
    for index, group in enumerate(meta.inner_instructions()):
        if group:
            instructions = []
            for item in group:
                compiled = item.instruction()
                instructions.append(
                    {
                        "programIdIndex": compiled.program_id_index,
                        "accounts": list(compiled.accounts),
                        "data": base58.b58encode(bytes(compiled.data)).decode(),
                        "stackHeight": item.stack_height(),
                    }
                )
            inner.append({"index": index, "instructions": instructions})
    return inner


class Ledger:
    """One LiteSVM with a clock, a block counter, recent blockhashes and a history."""

    def __init__(self, faucet: Pubkey) -> None:
        self.svm = LiteSVM().with_blockhash_check(False)
        self.svm.set_account(
            faucet, Account(lamports=FAUCET_LAMPORTS, data=b"", owner=SYSTEM_PROGRAM)
        )
        self.history = History()
        self.genesis_slot = self.svm.get_clock().slot
        self.slot = self.genesis_slot
        self._unix = 0
        self._offset = 0
        self._recent: deque[str] = deque([str(self.svm.latest_blockhash())], RECENT_BLOCKHASHES)

    # -- clock ---------------------------------------------------------------------------------

    def now(self) -> int:
        """Chain time (unix seconds): wall time plus the offset, never below the last time."""
        return max(self._unix, int(time.time()) + self._offset)

    def refresh_clock(self) -> None:
        """Let chain time follow the wall clock (not journaled: it is derived, see module doc)."""
        now = self.now()
        if now > self._unix:
            self._set_clock(now)

    def plan_clock(self, target: int) -> tuple[int, int]:
        """The journal entry ``(time, offset)`` for moving chain time to ``target``."""
        current = self.now()
        if target < current:
            raise RpcFault(INVALID_PARAMS, f"the clock only moves forward: chain time is {current}")
        return target, target - int(time.time())

    def apply_clock(self, unix: int, offset: int) -> None:
        """Apply a planned (or replayed) clock move."""
        self._offset = offset
        self._set_clock(max(unix, self._unix))

    def _set_clock(self, unix: int) -> None:
        self._unix = unix
        clock = self.svm.get_clock()
        clock.slot = self.slot
        clock.unix_timestamp = unix
        self.svm.set_clock(clock)

    # -- blocks --------------------------------------------------------------------------------

    @property
    def latest_blockhash(self) -> str:
        """The blockhash new transactions should use."""
        return self._recent[-1]

    @property
    def block_height(self) -> int:
        """Blocks made since genesis."""
        return self.slot - self.genesis_slot

    def is_recent(self, blockhash: str) -> bool:
        """Whether a transaction using ``blockhash`` would still be accepted."""
        return blockhash in self._recent

    def check(self, raw: bytes) -> VersionedTransaction:
        """Decode a wire transaction and refuse an unknown or expired blockhash."""
        try:
            tx = VersionedTransaction.from_bytes(raw)
        except ValueError as exc:
            raise RpcFault(INVALID_PARAMS, f"invalid transaction: {exc}") from exc
        if str(tx.message.recent_blockhash) not in self._recent:
            raise preflight_fault("BlockhashNotFound", [], 0)
        return tx

    def simulate(self, tx: VersionedTransaction, *, sig_verify: bool = True) -> Simulation:
        """Run ``tx`` against the current state without committing it."""
        self.refresh_clock()
        if sig_verify:
            result = self.svm.simulate_transaction(tx)
        else:
            # Synchronous, so no other call can observe signature checks being off.
            self.svm.with_sigverify(False)
            try:
                result = self.svm.simulate_transaction(tx)
            finally:
                self.svm.with_sigverify(True)
        if isinstance(result, FailedTransactionMetadata):
            meta = result.meta()
            return Simulation(_err_json(result), meta.logs(), meta.compute_units_consumed())
        meta = result.meta()
        return Simulation(None, meta.logs(), meta.compute_units_consumed())

    def execute(self, tx: VersionedTransaction, unix: int) -> TxRecord | Rejected:
        """Run ``tx`` at chain time ``unix`` as the next block and remember it if it landed."""
        self._set_clock(max(unix, self._unix))
        keys = tx.message.account_keys
        pre = [self.svm.get_balance(key) or 0 for key in keys]
        result = self.svm.send_transaction(tx)
        try:
            if isinstance(result, FailedTransactionMetadata):
                meta, err = result.meta(), _err_json(result)
                if meta.fee() == 0:
                    return Rejected(err)
            else:
                meta, err = result, None
            record = TxRecord(
                signature=str(tx.signatures[0]),
                slot=self.slot,
                block_time=self._unix,
                tx=tx,
                err=err,
                logs=meta.logs(),
                fee=meta.fee(),
                units=meta.compute_units_consumed(),
                pre_balances=pre,
                post_balances=[self.svm.get_balance(key) or 0 for key in keys],
                inner=_inner_json(meta),
                memo=memo_text(tx),
            )
            self.history.add(record)
            return record
        finally:
            self._next_block()

    def _next_block(self) -> None:
        self.svm.expire_blockhash()
        self.slot += 1
        self._recent.append(str(self.svm.latest_blockhash()))
