"""What every chain family offers the gateway: wallets, USDC balances, agent authorities, payments.

A *spending authority* lets an agent key spend from the owner's USDC within three limits — a
per-transaction cap, a cumulative cap and an expiry — paid only to one payee (the operator's
settlement key), until the owner revokes it. Amounts are integer USDC base units (= µUSD).
Every payment carries a 32-byte ``reference`` that the chain accepts at most once, which is what
makes settlement idempotent across crashes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

__all__ = ["AuthorityState", "ChainBackend", "ChainFamily", "Payment", "TxResult", "Wallet"]

ChainFamily = Literal["solana", "tempo"]


@dataclass(frozen=True, slots=True)
class Wallet:
    """An owner's on-chain wallet: the address holding USDC and how to fund it."""

    chain: ChainFamily
    owner: str
    usdc_account: str
    funding_hint: str


@dataclass(frozen=True, slots=True)
class TxResult:
    """A confirmed transaction."""

    chain: ChainFamily
    tx_id: str


@dataclass(frozen=True, slots=True)
class AuthorityState:
    """An agent authority as the chain holds it."""

    chain: ChainFamily
    owner: str
    agent: str
    payee: str
    per_tx_cap: int
    cumulative_cap: int
    paid: int
    expires_at: int
    revoked: bool
    # What the chain will still let the payee pull right now (allowance and balance included).
    spendable: int

    @property
    def remaining(self) -> int:
        """Cumulative cap minus what was paid."""
        return max(0, self.cumulative_cap - self.paid)


@dataclass(frozen=True, slots=True)
class Payment:
    """A payment made under an authority, as found on-chain by its reference."""

    chain: ChainFamily
    tx_id: str
    reference: bytes
    amount: int
    agent: str


class ChainBackend(Protocol):
    """One chain family (Solana or Tempo/EVM). Signing keys are 32-byte seeds/secrets."""

    chain: ChainFamily

    async def create_wallet(self, owner_secret: bytes) -> Wallet:
        """Create (idempotently) the owner's USDC holding account."""
        ...

    async def usdc_balance(self, owner: str) -> int:
        """The owner's USDC balance in base units."""
        ...

    async def fund(self, owner: str, amount: int) -> TxResult:
        """Mint test USDC to the owner (embedded chains only; ChainError elsewhere)."""
        ...

    async def grant(
        self,
        owner_secret: bytes,
        agent: str,
        payee: str,
        per_tx_cap: int,
        cumulative_cap: int,
        expires_at: int,
    ) -> TxResult:
        """Grant ``agent`` a spending authority payable to ``payee``."""
        ...

    async def read_authority(self, owner: str, agent: str) -> AuthorityState | None:
        """The authority of ``agent`` under ``owner``, or None if there is none."""
        ...

    async def pay(
        self, payee_secret: bytes, owner: str, agent: str, amount: int, reference: bytes
    ) -> TxResult:
        """Pull ``amount`` to the payee under the authority; ChainError says what was refused."""
        ...

    async def find_payment(self, owner: str, agent: str, reference: bytes) -> Payment | None:
        """The payment with this reference, if the chain has one."""
        ...

    async def revoke(self, owner_secret: bytes, agent: str) -> TxResult:
        """Revoke the authority of ``agent``."""
        ...
