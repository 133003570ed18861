"""USDC on Solana: mints, where each party's USDC sits, and the account layouts we read."""

from __future__ import annotations

from dataclasses import dataclass

from solders.pubkey import Pubkey
from spl.token.constants import ACCOUNT_LEN, TOKEN_PROGRAM_ID
from spl.token.instructions import get_associated_token_address

__all__ = [
    "DEVNET_USDC",
    "MAINNET_RPC",
    "MAINNET_USDC",
    "USDC_DECIMALS",
    "TokenAccount",
    "agent_account",
    "agent_seed",
    "clock_unix_time",
    "usdc_account",
]

USDC_DECIMALS = 6
MAINNET_USDC = Pubkey.from_string("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
DEVNET_USDC = Pubkey.from_string("4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU")
MAINNET_RPC = "https://api.mainnet-beta.solana.com"


@dataclass(frozen=True, slots=True)
class TokenAccount:
    """The fields of an SPL Token account that spending authorities depend on."""

    mint: Pubkey
    owner: Pubkey
    amount: int
    delegate: Pubkey | None
    delegated_amount: int

    @classmethod
    def parse(cls, owner_program: Pubkey, data: bytes) -> TokenAccount | None:
        """Decode an initialized token account, or None if ``data`` is not one."""
        if owner_program != TOKEN_PROGRAM_ID or len(data) != ACCOUNT_LEN or data[108] == 0:
            return None
        has_delegate = int.from_bytes(data[72:76], "little") == 1
        return cls(
            mint=Pubkey.from_bytes(data[0:32]),
            owner=Pubkey.from_bytes(data[32:64]),
            amount=int.from_bytes(data[64:72], "little"),
            delegate=Pubkey.from_bytes(data[76:108]) if has_delegate else None,
            delegated_amount=int.from_bytes(data[121:129], "little"),
        )


def clock_unix_time(data: bytes) -> int:
    """``unix_timestamp`` of the Clock sysvar's account data."""
    return int.from_bytes(data[32:40], "little", signed=True)


def usdc_account(owner: Pubkey, mint: Pubkey) -> Pubkey:
    """The owner's main USDC account: its associated token account."""
    return get_associated_token_address(owner, mint)


def agent_seed(agent: Pubkey) -> str:
    """The ``create_with_seed`` seed of an agent's account: its address's first 32 characters."""
    return str(agent)[:32]


def agent_account(owner: Pubkey, agent: Pubkey) -> Pubkey:
    """The owner-owned USDC account that backs ``agent``'s authority.

    A seed-derived address (``create_with_seed(owner, agent[:32], token program)``): anyone can
    find it from the owner and the agent alone, no private key exists for it, and only the owner
    (base of the derivation) can create it.
    """
    return Pubkey.create_with_seed(owner, agent_seed(agent), TOKEN_PROGRAM_ID)
