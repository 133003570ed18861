"""Deploy a program through the BPF upgradeable loader's own instructions (no Solana CLI).

The three steps are the CLI's: create and ``InitializeBuffer`` a buffer account, ``Write`` the
binary into it in transaction-sized chunks, then create the program account and
``DeployWithMaxDataLen``, which copies the buffer into the program-data account and refunds the
buffer's rent. The payer becomes the buffer and upgrade authority.

Transactions go through a :class:`DeployRpc`: :class:`AsyncClientRpc` adapts ``solana``'s
``AsyncClient`` for a real cluster; tests pass an in-process chain.
"""

from __future__ import annotations

import struct
from typing import Protocol

import trio
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import CreateAccountParams, create_account
from solders.sysvar import CLOCK, RENT
from solders.transaction import Transaction
from solders.transaction_status import TransactionConfirmationStatus

from gateway.errors import ChainError
from solana.exceptions import SolanaRpcException
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solana.rpc.core import RPCException
from solana.rpc.models import TxOpts

__all__ = [
    "BPF_LOADER_UPGRADEABLE_ID",
    "AsyncClientRpc",
    "DeployRpc",
    "deploy_program",
    "deploy_with_max_data_len_ix",
    "initialize_buffer_ix",
    "programdata_address",
    "write_ix",
]

BPF_LOADER_UPGRADEABLE_ID = Pubkey.from_string("BPFLoaderUpgradeab1e11111111111111111111111")
_SYSTEM_PROGRAM_ID = Pubkey.from_string("11111111111111111111111111111111")
# UpgradeableLoaderState sizes: enum tag + optional authority (+ slot for program data).
_BUFFER_METADATA = 37
_PROGRAM_LEN = 36
_PACKET_DATA_SIZE = 1232
_CONFIRM_TIMEOUT = 90.0
_POLL_SECONDS = 0.5


class DeployRpc(Protocol):
    """What deploying needs from a chain."""

    async def latest_blockhash(self) -> Hash:
        """A recent blockhash to sign with."""
        ...

    async def minimum_balance(self, size: int) -> int:
        """The rent-exempt minimum for an account of ``size`` bytes."""
        ...

    async def send(self, tx: Transaction) -> Signature:
        """Send and wait until confirmed; ChainError if the chain refuses it."""
        ...


def initialize_buffer_ix(buffer: Pubkey, authority: Pubkey) -> Instruction:
    """``InitializeBuffer``: let ``authority`` write ``buffer`` (allocated, loader-owned)."""
    accounts = [AccountMeta(buffer, False, True), AccountMeta(authority, False, False)]
    return Instruction(BPF_LOADER_UPGRADEABLE_ID, struct.pack("<I", 0), accounts)


def write_ix(buffer: Pubkey, authority: Pubkey, offset: int, chunk: bytes) -> Instruction:
    """``Write``: copy ``chunk`` into the buffer's program bytes at ``offset``."""
    data = struct.pack("<IIQ", 1, offset, len(chunk)) + chunk
    accounts = [AccountMeta(buffer, False, True), AccountMeta(authority, True, False)]
    return Instruction(BPF_LOADER_UPGRADEABLE_ID, data, accounts)


def programdata_address(program: Pubkey) -> Pubkey:
    """The program-data account the loader keeps a program's bytes in."""
    return Pubkey.find_program_address([bytes(program)], BPF_LOADER_UPGRADEABLE_ID)[0]


def deploy_with_max_data_len_ix(
    payer: Pubkey, program: Pubkey, buffer: Pubkey, authority: Pubkey, max_data_len: int
) -> Instruction:
    """``DeployWithMaxDataLen``: turn a written buffer into the executable ``program``."""
    accounts = [
        AccountMeta(payer, True, True),
        AccountMeta(programdata_address(program), False, True),
        AccountMeta(program, False, True),
        AccountMeta(buffer, False, True),
        AccountMeta(RENT, False, False),
        AccountMeta(CLOCK, False, False),
        AccountMeta(_SYSTEM_PROGRAM_ID, False, False),
        AccountMeta(authority, True, False),
    ]
    return Instruction(BPF_LOADER_UPGRADEABLE_ID, struct.pack("<IQ", 2, max_data_len), accounts)


def _chunk_size(payer: Pubkey, buffer: Pubkey) -> int:
    """The largest Write payload that keeps a payer-signed transaction within one packet."""
    message = Message([write_ix(buffer, payer, 0, b"")], payer)
    empty = len(bytes(Transaction.new_unsigned(message)))
    # Past 127 bytes the instruction data length takes a second byte of compact-u16.
    return _PACKET_DATA_SIZE - empty - 1


async def _send(rpc: DeployRpc, instructions: list[Instruction], *signers: Keypair) -> None:
    message = Message(instructions, signers[0].pubkey())
    await rpc.send(Transaction(list(signers), message, await rpc.latest_blockhash()))


async def deploy_program(
    rpc: DeployRpc,
    payer: Keypair,
    program: Keypair,
    binary: bytes,
    *,
    max_data_len: int | None = None,
) -> Pubkey:
    """Deploy ``binary`` at ``program``'s address, upgradeable by ``payer``; the program id.

    ``max_data_len`` (default: twice the binary) bounds later upgrades.
    """
    max_len = max_data_len if max_data_len is not None else 2 * len(binary)
    if max_len < len(binary):
        raise ValueError(f"max_data_len {max_len} is smaller than the binary ({len(binary)})")
    buffer = Keypair()
    owner = payer.pubkey()
    buffer_size = _BUFFER_METADATA + len(binary)
    create_buffer = create_account(
        CreateAccountParams(
            from_pubkey=owner,
            to_pubkey=buffer.pubkey(),
            lamports=await rpc.minimum_balance(buffer_size),
            space=buffer_size,
            owner=BPF_LOADER_UPGRADEABLE_ID,
        )
    )
    await _send(rpc, [create_buffer, initialize_buffer_ix(buffer.pubkey(), owner)], payer, buffer)

    size = _chunk_size(owner, buffer.pubkey())
    for offset in range(0, len(binary), size):
        chunk = binary[offset : offset + size]
        await _send(rpc, [write_ix(buffer.pubkey(), owner, offset, chunk)], payer)

    create_program = create_account(
        CreateAccountParams(
            from_pubkey=owner,
            to_pubkey=program.pubkey(),
            lamports=await rpc.minimum_balance(_PROGRAM_LEN),
            space=_PROGRAM_LEN,
            owner=BPF_LOADER_UPGRADEABLE_ID,
        )
    )
    deploy = deploy_with_max_data_len_ix(owner, program.pubkey(), buffer.pubkey(), owner, max_len)
    await _send(rpc, [create_program, deploy], payer, program)
    return program.pubkey()


def _line(exc: Exception) -> str:
    """An RPC error as one short line (preflight errors carry whole program logs)."""
    # RPCException wraps solders' parsed error, whose message is the node's own sentence.
    detail = getattr(exc.args[0], "message", None) if exc.args else None
    text = " ".join(str(detail if isinstance(detail, str) else exc).split())
    return text if len(text) <= 300 else text[:297] + "..."


class AsyncClientRpc:
    """:class:`DeployRpc` over ``solana``'s ``AsyncClient`` (devnet, mainnet, any RPC node).

    Blockhashes and preflight use the ``confirmed`` view, as the Solana CLI does: each step
    builds on the account the step before created, which ``finalized`` would not show yet.
    """

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def latest_blockhash(self) -> Hash:
        """The cluster's latest blockhash."""
        try:
            return (await self._client.get_latest_blockhash(Confirmed)).value.blockhash
        except (RPCException, SolanaRpcException) as exc:
            raise ChainError(f"Solana RPC getLatestBlockhash failed: {_line(exc)}") from None

    async def minimum_balance(self, size: int) -> int:
        """The cluster's rent-exempt minimum for ``size`` bytes."""
        try:
            return (await self._client.get_minimum_balance_for_rent_exemption(size)).value
        except (RPCException, SolanaRpcException) as exc:
            raise ChainError(
                f"Solana RPC getMinimumBalanceForRentExemption failed: {_line(exc)}"
            ) from None

    async def send(self, tx: Transaction) -> Signature:
        """Send (with preflight) and poll until confirmed."""
        try:
            opts = TxOpts(preflight_commitment=Confirmed)
            signature = (await self._client.send_raw_transaction(bytes(tx), opts)).value
            with trio.fail_after(_CONFIRM_TIMEOUT):
                while True:
                    status = (await self._client.get_signature_statuses([signature])).value[0]
                    if status is not None and status.err is not None:
                        raise ChainError(f"deploy transaction {signature} failed: {status.err}")
                    if status is not None and status.confirmation_status in (
                        TransactionConfirmationStatus.Confirmed,
                        TransactionConfirmationStatus.Finalized,
                    ):
                        return signature
                    await trio.sleep(_POLL_SECONDS)
        except (RPCException, SolanaRpcException) as exc:
            raise ChainError(f"Solana RPC refused a deploy transaction: {_line(exc)}") from None
        except trio.TooSlowError:
            raise ChainError("a deploy transaction was not confirmed in time") from None
