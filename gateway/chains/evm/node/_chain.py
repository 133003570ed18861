"""A py-evm chain that mines one block per transaction, at a timestamp its caller chooses.

The node owns the clock (see ``_node``), so that a replayed journal mines every block at the
timestamp it had the first time: the chain's state then comes out identical, block hashes too
(``mix_hash`` is derived from the block number instead of being random).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from eth.abc import BlockAPI, BlockHeaderAPI, ComputationAPI, ReceiptAPI, SignedTransactionAPI
from eth.exceptions import BlockNotFound, HeaderNotFound, Revert, TransactionNotFound
from eth.vm.spoof import SpoofTransaction
from eth_tester import PyEVMBackend  # type: ignore[import-untyped]
from eth_utils.crypto import keccak
from eth_utils.exceptions import ValidationError
from rlp import DecodingError  # type: ignore[import-untyped]

__all__ = ["CallRequest", "EvmState", "Reverted", "TransactionRefused"]

_ZERO_ADDRESS = b"\x00" * 20


class Reverted(Exception):
    """A call or gas estimate hit REVERT (or another EVM error); ``data`` is the revert data."""

    def __init__(self, data: bytes, reason: str = "execution reverted") -> None:
        super().__init__(reason)
        self.data = data
        self.reason = reason


class TransactionRefused(Exception):
    """The node refused a transaction before executing it (bad nonce, chain id, funds…)."""


@dataclass(frozen=True, slots=True)
class CallRequest:
    """The fields of ``eth_call``/``eth_estimateGas`` the node honours (gas price is ignored)."""

    sender: bytes = _ZERO_ADDRESS
    to: bytes = b""
    value: int = 0
    data: bytes = b""
    gas: int | None = None


class EvmState:
    """The chain: a py-evm ``MiningChain`` (through eth-tester's PyEVMBackend set-up)."""

    def __init__(self, genesis_timestamp: int, balances: dict[bytes, int]) -> None:
        params = PyEVMBackend.generate_genesis_params(overrides={"timestamp": genesis_timestamp})
        # A zero base fee (and, from the node, a zero priority fee) makes gas free here, so that a
        # payee key the faucet never funded can still settle on the embedded chain.
        params["base_fee_per_gas"] = 0
        genesis_state = {
            address: {"balance": balance, "nonce": 0, "code": b"", "storage": {}}
            for address, balance in balances.items()
        }
        backend = PyEVMBackend(genesis_parameters=params, genesis_state=genesis_state)
        self._chain = backend.chain

    @property
    def chain_id(self) -> int:
        """The EIP-155 chain id transactions must be signed for."""
        return int(self._chain.chain_id)

    def head(self) -> BlockHeaderAPI:
        """The latest mined block's header."""
        return cast(BlockHeaderAPI, self._chain.get_canonical_head())

    def apply(self, raw: bytes, timestamp: int) -> bytes:
        """Execute a signed transaction in a new block mined at ``timestamp``; its hash."""
        self._chain.set_header_timestamp(timestamp)
        vm = self._chain.get_vm()
        try:
            transaction = vm.get_transaction_builder().decode(raw)
            # Validation (nonce, chain id, funds) happens before anything changes.
            self._chain.apply_transaction(transaction)
        except (ValidationError, DecodingError) as exc:
            raise TransactionRefused(str(exc) or type(exc).__name__) from exc
        self._mine()
        return bytes(transaction.hash)

    def mine(self, timestamp: int) -> None:
        """Mine an empty block at ``timestamp``."""
        self._chain.set_header_timestamp(timestamp)
        self._mine()

    def _mine(self) -> None:
        number = self._chain.header.block_number
        self._chain.mine_block(mix_hash=keccak(number.to_bytes(32, "big")))

    def call(self, request: CallRequest, timestamp: int) -> bytes:
        """Run ``request`` on top of the latest state, as in a block at ``timestamp``."""
        computation = self._execute(request, timestamp)
        if computation.is_error:
            error = computation.error
            if isinstance(error, Revert):
                raise Reverted(bytes(computation.output))
            raise Reverted(b"", f"execution failed: {type(error).__name__}")
        return bytes(computation.output)

    def estimate_gas(self, request: CallRequest, timestamp: int) -> int:
        """The gas ``request`` needs, found by py-evm's binary search."""
        self.call(request, timestamp)
        header = self._pending_header(timestamp)
        state = self._chain.get_vm(header).state
        return int(self._chain.gas_estimator(state, self._spoof(request, header)))

    def _pending_header(self, timestamp: int) -> BlockHeaderAPI:
        # Every transaction is mined at once, so the pending block is empty and its state root
        # is the latest state; only its timestamp needs to be the node's "now".
        return cast(BlockHeaderAPI, self._chain.header.copy(timestamp=timestamp))

    def _spoof(self, request: CallRequest, header: BlockHeaderAPI) -> SpoofTransaction:
        vm = self._chain.get_vm(header)
        unsigned = vm.create_unsigned_transaction(
            nonce=vm.state.get_nonce(request.sender),
            gas_price=0,
            gas=request.gas or header.gas_limit,
            to=request.to,
            value=request.value,
            data=request.data,
        )
        return SpoofTransaction(unsigned, from_=request.sender)

    def _execute(self, request: CallRequest, timestamp: int) -> ComputationAPI:
        header = self._pending_header(timestamp)
        state = self._chain.get_vm(header).state
        snapshot = state.snapshot()
        try:
            return cast(ComputationAPI, state.apply_transaction(self._spoof(request, header)))
        except ValidationError as exc:
            raise TransactionRefused(str(exc)) from exc
        finally:
            state.revert(snapshot)

    # Reads ---------------------------------------------------------------------------------

    def header_at(self, number: int | None) -> BlockHeaderAPI | None:
        """The header of block ``number`` (None: the latest), or None beyond the head."""
        if number is None:
            return self.head()
        try:
            return cast(BlockHeaderAPI, self._chain.get_canonical_block_header_by_number(number))
        except HeaderNotFound:
            return None

    def block(self, number: int) -> BlockAPI | None:
        """Block ``number``, or None."""
        try:
            return cast(BlockAPI, self._chain.get_canonical_block_by_number(number))
        except (HeaderNotFound, BlockNotFound):
            return None

    def block_number_of_hash(self, block_hash: bytes) -> int | None:
        """The number of the canonical block with this hash, or None."""
        try:
            header = self._chain.get_block_header_by_hash(block_hash)
        except HeaderNotFound:
            return None
        canonical = self.header_at(header.block_number)
        return header.block_number if canonical == header else None

    def receipts(self, block: BlockAPI) -> tuple[ReceiptAPI, ...]:
        """The receipts of ``block``'s transactions, in order."""
        return tuple(block.get_receipts(self._chain.chaindb))

    def locate(self, tx_hash: bytes) -> tuple[BlockAPI, int] | None:
        """The block holding transaction ``tx_hash`` and its index there, or None."""
        try:
            number, index = self._chain.chaindb.get_transaction_index(tx_hash)
        except TransactionNotFound:
            return None
        block = self.block(number)
        return None if block is None else (block, index)

    def account(self, address: bytes, number: int | None) -> tuple[int, int, bytes]:
        """(balance, nonce, code) of ``address`` after block ``number`` (None: latest)."""
        header = self.header_at(number)
        if header is None:
            raise BlockNotFound(f"no block {number}")
        state = self._chain.get_vm(header).state
        return state.get_balance(address), state.get_nonce(address), state.get_code(address)

    def storage(self, address: bytes, slot: int, number: int | None) -> int:
        """Storage slot ``slot`` of ``address`` after block ``number``."""
        header = self.header_at(number)
        if header is None:
            raise BlockNotFound(f"no block {number}")
        return int(self._chain.get_vm(header).state.get_storage(address, slot))

    @staticmethod
    def sender(transaction: SignedTransactionAPI) -> bytes:
        """The address that signed ``transaction``."""
        return bytes(transaction.sender)
