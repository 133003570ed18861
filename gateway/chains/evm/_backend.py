"""``EvmChain``: the Tempo/EVM ChainBackend — USDC as an ERC-20/TIP-20, caps in SpendingAuthority.

All chain access goes through web3's sync HTTPProvider in worker threads (a CapacityLimiter
bounds them); transactions are sent one at a time (a trio.Lock) so that nonces never collide
within one process. Keys arrive as 32-byte secp256k1 secrets and never leave this module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import trio
from eth_account import Account
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract
from web3.types import RPCEndpoint

from gateway.chains._interface import AuthorityState, ChainFamily, Payment, TxResult, Wallet
from gateway.chains.evm._artifacts import load_artifact
from gateway.chains.evm._refusals import RevertDecoder, refused
from gateway.chains.evm._rpc_client import RpcClient, contract
from gateway.errors import ChainError

__all__ = ["EvmChain"]

T = TypeVar("T")
_ZERO = "0x0000000000000000000000000000000000000000"
_MAX_UINT256 = 2**256 - 1


def _address(value: str, field: str) -> ChecksumAddress:
    if not isinstance(value, str) or not Web3.is_address(value):
        raise ChainError(f"{field} {value!r} is not an EVM address", code="invalid_address")
    return Web3.to_checksum_address(value)


def _uint(value: int, field: str, bits: int) -> int:
    if not isinstance(value, int) or not 0 <= value < 2**bits:
        raise ChainError(
            f"{field} must be an integer from 0 to 2^{bits}-1, not {value!r}", code="invalid_amount"
        )
    return value


def _reference(value: bytes) -> bytes:
    if not isinstance(value, bytes) or len(value) != 32:
        raise ChainError("a payment reference must be exactly 32 bytes", code="invalid_reference")
    return value


def _owner_of(secret: bytes) -> str:
    if not isinstance(secret, bytes) or len(secret) != 32:
        raise ChainError("an EVM signing key must be a 32-byte secret", code="invalid_key")
    return str(Account.from_key(secret).address)


class EvmChain:
    """ChainBackend for Tempo or any EVM chain running our SpendingAuthority contract."""

    chain: ChainFamily = "tempo"

    def __init__(
        self,
        rpc_url: str,
        usdc: str,
        authority: str,
        *,
        embedded: bool = False,
        reconnect: Callable[[], str] | None = None,
        max_threads: int = 4,
        receipt_timeout: float = 60.0,
        poll_seconds: float = 0.2,
    ) -> None:
        self.usdc_address = _address(usdc, "usdc")
        self.authority_address = _address(authority, "authority")
        self.embedded = embedded
        self._usdc_abi = load_artifact("TestUSDC").abi
        self._authority_abi = load_artifact("SpendingAuthority").abi
        self._client = RpcClient(
            rpc_url,
            RevertDecoder([self._authority_abi, self._usdc_abi]),
            reconnect=reconnect,
            receipt_timeout=receipt_timeout,
            poll_seconds=poll_seconds,
        )
        self._limiter = trio.CapacityLimiter(max_threads)
        self._send_lock = trio.Lock()

    @property
    def rpc_url(self) -> str:
        """The JSON-RPC endpoint in use."""
        return self._client.url

    def close(self) -> None:
        """Close the HTTP connections (the chain object is unusable afterwards)."""
        self._client.close()

    async def _thread(self, fn: Callable[[], T]) -> T:
        return await trio.to_thread.run_sync(fn, limiter=self._limiter)

    def _authority(self, w3: Web3) -> Contract:
        return contract(w3, self.authority_address, self._authority_abi)

    def _token(self, w3: Web3) -> Contract:
        return contract(w3, self.usdc_address, self._usdc_abi)

    async def _read(self, what: str, fn: Callable[[Web3], T]) -> T:
        return await self._thread(lambda: self._client.read(what, fn))

    async def chain_id(self) -> int:
        """The chain id the endpoint reports."""
        return await self._read("read the chain id", lambda w3: int(w3.eth.chain_id))

    async def code_at(self, address: str) -> bytes:
        """The contract code at ``address`` (empty if none)."""
        checked = _address(address, "address")
        return await self._read("read contract code", lambda w3: bytes(w3.eth.get_code(checked)))

    # ChainBackend --------------------------------------------------------------------------

    async def create_wallet(self, owner_secret: bytes) -> Wallet:
        """The owner's wallet: on EVM the address itself holds USDC, so nothing is sent."""
        owner = _owner_of(owner_secret)
        if self.embedded:
            hint = f"the embedded test chain's faucet mints test USDC to {owner}"
        else:
            hint = f"send USDC (token {self.usdc_address}) on Tempo to {owner}"
        return Wallet(chain=self.chain, owner=owner, usdc_account=owner, funding_hint=hint)

    async def usdc_balance(self, owner: str) -> int:
        """The owner's USDC balance in base units."""
        checked = _address(owner, "owner")
        return await self._read(
            "read a USDC balance",
            lambda w3: int(self._token(w3).functions.balanceOf(checked).call()),
        )

    async def fund(self, owner: str, amount: int) -> TxResult:
        """Mint test USDC (and gas money) to ``owner``: the embedded chain's faucet only."""
        checked = _address(owner, "owner")
        if not self.embedded or amount <= 0:
            reason = (
                "the amount must be positive"
                if self.embedded
                else ("only the embedded test chain has a faucet; send real USDC to the address")
            )
            raise ChainError(f"cannot fund {checked}: {reason}", code="fund_unavailable")
        _uint(amount, "amount", 256)

        def mint(w3: Web3) -> Any:
            return w3.provider.make_request(RPCEndpoint("bitrouter_fund"), [checked, amount])

        async with self._send_lock:
            response = await self._thread(lambda: self._client.run("fund", mint))
        if "error" in response or not response.get("result"):
            raise refused("faucet", str(response.get("error", {}).get("message", "no result")))
        return TxResult(chain=self.chain, tx_id=str(response["result"]))

    async def grant(
        self,
        owner_secret: bytes,
        agent: str,
        payee: str,
        per_tx_cap: int,
        cumulative_cap: int,
        expires_at: int,
    ) -> TxResult:
        """Grant ``agent`` an authority payable to ``payee`` (two transactions).

        The owner's USDC allowance to the contract first grows by ``cumulative_cap`` (it is an
        outer bound shared by all of the owner's authorities; the contract enforces each
        authority's own caps), then the grant is sent. Returns the grant's transaction.
        """
        owner = _owner_of(owner_secret)
        agent, payee = _address(agent, "agent"), _address(payee, "payee")
        args = (
            agent,
            self.usdc_address,
            payee,
            _uint(per_tx_cap, "per_tx_cap", 128),
            _uint(cumulative_cap, "cumulative_cap", 128),
            _uint(expires_at, "expires_at", 64),
        )

        def build_grant(w3: Web3) -> Any:
            return self._authority(w3).functions.grant(*args)

        def work() -> Any:
            # Dry-run the grant first so that a refused grant leaves no allowance behind.
            self._client.read("grant", lambda w3: build_grant(w3).estimate_gas({"from": owner}))
            allowance = self._client.read(
                "read the USDC allowance",
                lambda w3: int(
                    self._token(w3).functions.allowance(owner, self.authority_address).call()
                ),
            )
            if allowance < _MAX_UINT256:
                raised = min(_MAX_UINT256, allowance + cumulative_cap)
                self._client.transact(
                    "USDC approval",
                    owner_secret,
                    lambda w3: self._token(w3).functions.approve(self.authority_address, raised),
                )
            return self._client.transact("grant", owner_secret, build_grant)

        async with self._send_lock:
            receipt = await self._thread(work)
        return TxResult(chain=self.chain, tx_id=receipt["transactionHash"].to_0x_hex())

    async def read_authority(self, owner: str, agent: str) -> AuthorityState | None:
        """The authority as the contract holds it, or None if it was never granted."""
        owner, agent = _address(owner, "owner"), _address(agent, "agent")

        def read(w3: Web3) -> tuple[Any, int]:
            functions = self._authority(w3).functions
            return (
                functions.authorityOf(owner, agent).call(),
                int(functions.spendable(owner, agent).call()),
            )

        (token, expires_at, revoked, payee, per_tx, cumulative, paid), spendable = await self._read(
            "read an authority", read
        )
        if token == _ZERO:
            return None
        return AuthorityState(
            chain=self.chain,
            owner=owner,
            agent=agent,
            payee=Web3.to_checksum_address(payee),
            per_tx_cap=int(per_tx),
            cumulative_cap=int(cumulative),
            paid=int(paid),
            expires_at=int(expires_at),
            revoked=bool(revoked),
            spendable=spendable,
        )

    async def pay(
        self, payee_secret: bytes, owner: str, agent: str, amount: int, reference: bytes
    ) -> TxResult:
        """Pull ``amount`` to the payee; a reused reference fails with code ``reference_used``."""
        _owner_of(payee_secret)
        owner, agent = _address(owner, "owner"), _address(agent, "agent")
        amount, reference = _uint(amount, "amount", 128), _reference(reference)
        async with self._send_lock:
            receipt = await self._thread(
                lambda: self._client.transact(
                    "payment",
                    payee_secret,
                    lambda w3: self._authority(w3).functions.pay(owner, agent, amount, reference),
                )
            )
        return TxResult(chain=self.chain, tx_id=receipt["transactionHash"].to_0x_hex())

    async def find_payment(self, owner: str, agent: str, reference: bytes) -> Payment | None:
        """The payment with this reference under (owner, agent), read from the contract.

        ``tx_id`` comes from the PaymentMade log of the recorded block; it is empty if the
        endpoint no longer serves that block's logs (the payment itself is still certain).
        """
        owner, agent, reference = (
            _address(owner, "owner"),
            _address(agent, "agent"),
            _reference(reference),
        )

        def read(w3: Web3) -> Payment | None:
            authority = self._authority(w3)
            payee, block, amount = authority.functions.paymentOf(owner, agent, reference).call()
            if payee == _ZERO:
                return None
            logs = authority.events.PaymentMade().get_logs(
                argument_filters={"ref": reference, "owner": owner, "agent": agent},
                from_block=int(block),
                to_block=int(block),
            )
            tx_id = logs[0]["transactionHash"].to_0x_hex() if logs else ""
            return Payment(
                chain=self.chain, tx_id=tx_id, reference=reference, amount=int(amount), agent=agent
            )

        return await self._read("look up a payment", read)

    async def revoke(self, owner_secret: bytes, agent: str) -> TxResult:
        """Revoke ``agent``'s authority (revoking twice succeeds)."""
        _owner_of(owner_secret)
        agent = _address(agent, "agent")
        async with self._send_lock:
            receipt = await self._thread(
                lambda: self._client.transact(
                    "revocation",
                    owner_secret,
                    lambda w3: self._authority(w3).functions.revoke(agent),
                )
            )
        return TxResult(chain=self.chain, tx_id=receipt["transactionHash"].to_0x_hex())
