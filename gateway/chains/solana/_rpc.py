"""The one way this package reaches a Solana chain: solana-py's ``AsyncClient`` over JSON-RPC.

The embedded node speaks the same JSON-RPC as devnet and mainnet, so this code path is exercised
end to end by the embedded chain. Every RPC failure becomes a one-line ``ChainError``; the RPC
URL is shown by host only (provider URLs often carry an API key in the path or query).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx2
import trio
from solders.account import Account
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.rpc.errors import SendTransactionPreflightFailureMessage
from solders.rpc.responses import RpcConfirmedTransactionStatusWithSignature
from solders.signature import Signature
from solders.transaction import VersionedTransaction
from solders.transaction_status import TransactionConfirmationStatus

from gateway.chains.solana._refusals import refusal
from gateway.errors import ChainError
from solana.exceptions import SolanaRpcException
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solana.rpc.core import RPCException
from solana.rpc.jsonrpc import JsonRpcRequest, SolanaJsonRpcError
from solana.rpc.models import TxOpts

__all__ = ["ConfirmedTx", "Restart", "SolanaRpc", "rpc_label"]

RPC_TIMEOUT = 30.0
CONFIRM_TIMEOUT = 60.0
POLL_SECONDS = 0.4
# Keep fee payers above this on the embedded chain; 1 SOL pays ~200,000 transactions.
FEE_FLOOR_LAMPORTS = 50_000_000
FEE_TOP_UP_LAMPORTS = 1_000_000_000
_CONFIRMED = (TransactionConfirmationStatus.Confirmed, TransactionConfirmationStatus.Finalized)

T = TypeVar("T")
ConfirmedTx = tuple[VersionedTransaction, Any]
Restart = Callable[[], Awaitable[str]]


def rpc_label(url: str) -> str:
    """The RPC endpoint as it may appear in messages: scheme, host and port only."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"


def _client(url: str) -> AsyncClient:
    return AsyncClient(url, commitment=Confirmed, timeout=RPC_TIMEOUT)


async def _close(client: AsyncClient) -> None:
    with trio.move_on_after(5) as cleanup:
        cleanup.shield = True  # close the connections even when the caller is cancelled
        await client.close()


def _refused_connection(exc: ChainError) -> bool:
    transport = exc.__cause__.__cause__ if exc.__cause__ is not None else None
    return isinstance(transport, httpx2.ConnectError)


class SolanaRpc:
    """Reads, sends and confirms through one AsyncClient; maps every failure to ChainError.

    ``restart`` (embedded chain only) starts the node again and gives its new URL; it is used
    once when a connection is refused — the node exits when idle — and only then, because a
    refused connection is the one failure where the request surely never reached the node.
    ``caps_program`` names the spending-caps program, so its refusals are read in its words.
    """

    def __init__(self, url: str, *, airdrop_fees: bool, restart: Restart | None = None) -> None:
        self._client = _client(url)
        self._label = rpc_label(url)
        self._airdrop_fees = airdrop_fees
        self._restart = restart
        self.caps_program: Pubkey | None = None

    async def aclose(self) -> None:
        """Close the HTTP connections (also when cancelled)."""
        await _close(self._client)

    @contextlib.contextmanager
    def _errors(self, action: str, programs: Sequence[Pubkey]) -> Iterator[None]:
        try:
            yield
        except SolanaRpcException as exc:
            cause = exc.__cause__
            if isinstance(cause, httpx2.HTTPStatusError):
                status = cause.response.status_code
                message = f"the Solana RPC at {self._label} answered HTTP {status} ({action})"
            else:
                message = f"the Solana RPC at {self._label} could not be reached ({action})"
            raise ChainError(message, code="chain_unreachable") from exc
        except RPCException as exc:
            error = exc.args[0] if exc.args else exc
            if isinstance(error, SendTransactionPreflightFailureMessage) and error.data.err:
                raise refusal(action, error.data.err, list(programs), self.caps_program) from exc
            message = getattr(error, "message", None) or str(error)
            raise ChainError(f"the Solana RPC refused the {action}: {message}") from exc
        except SolanaJsonRpcError as exc:
            raise ChainError(f"the Solana RPC refused the {action}: {exc.message}") from exc

    async def _call(
        self,
        action: str,
        request: Callable[[AsyncClient], Awaitable[T]],
        programs: Sequence[Pubkey] = (),
    ) -> T:
        try:
            with self._errors(action, programs):
                return await request(self._client)
        except ChainError as exc:
            if self._restart is None or not _refused_connection(exc):
                raise
        url = await self._restart()
        stale, self._client = (
            self._client,
            AsyncClient(url, commitment=Confirmed, timeout=RPC_TIMEOUT),
        )
        with trio.move_on_after(5) as cleanup:
            cleanup.shield = True
            await stale.close()
        with self._errors(action, programs):
            return await request(self._client)

    async def accounts(self, keys: Sequence[Pubkey]) -> list[Account | None]:
        """The accounts at ``keys`` (None where there is none), read in one call."""
        response = await self._call(
            "account read", lambda c: c.get_multiple_accounts(list(keys), encoding="base64")
        )
        return list(response.value)

    async def rent_exemption(self, size: int) -> int:
        """Lamports that keep an account of ``size`` bytes rent-exempt."""
        response = await self._call(
            "rent read", lambda c: c.get_minimum_balance_for_rent_exemption(size)
        )
        return response.value

    async def top_up_fees(self, address: Pubkey, lamports: int) -> None:
        """On the embedded chain, airdrop SOL to a fee payer running low; elsewhere nothing."""
        if not self._airdrop_fees or lamports >= FEE_FLOOR_LAMPORTS:
            return
        response = await self._call(
            "SOL airdrop", lambda c: c.request_airdrop(address, FEE_TOP_UP_LAMPORTS)
        )
        await self._confirm("SOL airdrop", response.value, [])

    async def send(
        self, action: str, instructions: list[Instruction], payer: Keypair, *others: Keypair
    ) -> str:
        """Sign with a fresh blockhash, send with preflight, wait until confirmed; the signature."""
        programs = [ix.program_id for ix in instructions]
        latest = await self._call(action, lambda c: c.get_latest_blockhash(Confirmed))
        message = MessageV0.try_compile(payer.pubkey(), instructions, [], latest.value.blockhash)
        raw = bytes(VersionedTransaction(message, [payer, *others]))
        opts = TxOpts(skip_confirmation=True, preflight_commitment=Confirmed)
        sent = await self._call(action, lambda c: c.send_raw_transaction(raw, opts), programs)
        await self._confirm(action, sent.value, programs)
        return str(sent.value)

    async def _confirm(self, action: str, signature: Signature, programs: list[Pubkey]) -> None:
        with trio.move_on_after(CONFIRM_TIMEOUT):
            while True:
                response = await self._call(action, lambda c: c.get_signature_statuses([signature]))
                status = response.value[0]
                if status is not None and status.err is not None:
                    raise refusal(action, status.err, programs, self.caps_program)
                if status is not None and status.confirmation_status in _CONFIRMED:
                    return
                await trio.sleep(POLL_SECONDS)
        raise ChainError(
            f"the {action} {signature} was sent but not confirmed within {CONFIRM_TIMEOUT:.0f} s",
            code="chain_timeout",
        )

    async def signatures(
        self, address: Pubkey, before: Signature | None, limit: int
    ) -> list[RpcConfirmedTransactionStatusWithSignature]:
        """Confirmed transactions touching ``address``, newest first, older than ``before``."""
        response = await self._call(
            "history read",
            lambda c: c.get_signatures_for_address(
                address, before=before, limit=limit, commitment=Confirmed
            ),
        )
        return list(response.value)

    async def transaction(self, signature: Signature) -> ConfirmedTx | None:
        """A confirmed transaction and its error (None if it succeeded), or None if unknown."""
        response = await self._call(
            "transaction read",
            lambda c: c.get_transaction(
                signature, "base64", Confirmed, max_supported_transaction_version=0
            ),
        )
        found = response.value
        if found is None or found.transaction.meta is None:
            return None
        tx = found.transaction.transaction
        if not isinstance(tx, VersionedTransaction):
            return None
        return tx, found.transaction.meta.err

    async def node_call(self, method: str, params: list[Any]) -> Any:
        """A ``bitrouter_*`` method of the embedded node."""
        request = JsonRpcRequest(method=method, params=params)
        return await self._call(method, lambda c: c.send_rpc_request(request, Any))
