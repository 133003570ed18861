"""The node's own key: it creates the test USDC mint, mints it, and pays out SOL airdrops.

The key, the mint's key and the spending-caps program's key live in the state folder
(``node-keys.json``, mode 0600); the mint's and the program's addresses in ``config.json``.
Faucet payouts (and the program's deployment) are ordinary transactions signed by that key, so
they are journaled, replayed and visible through ``getTransaction`` like any other.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM
from solders.system_program import CreateAccountParams, TransferParams, create_account, transfer
from solders.transaction import VersionedTransaction
from spl.token.constants import ASSOCIATED_TOKEN_PROGRAM_ID, MINT_LEN, TOKEN_PROGRAM_ID

__all__ = ["USDC_DECIMALS", "Faucet", "associated_token_address"]

USDC_DECIMALS = 6
# SPL Token instruction tags (spl-token's TokenInstruction) and ATA's CreateIdempotent. Built by
# hand: solana-py's builders load pydantic models, which would double the node's start-up time.
_INITIALIZE_MINT2, _MINT_TO_CHECKED, _CREATE_IDEMPOTENT = 20, 14, 1


def associated_token_address(owner: Pubkey, mint: Pubkey) -> Pubkey:
    """The associated token account of ``owner`` for ``mint``."""
    seeds = [bytes(owner), bytes(TOKEN_PROGRAM_ID), bytes(mint)]
    return Pubkey.find_program_address(seeds, ASSOCIATED_TOKEN_PROGRAM_ID)[0]


def _initialize_mint2(mint: Pubkey, authority: Pubkey, decimals: int) -> Instruction:
    data = bytes([_INITIALIZE_MINT2, decimals]) + bytes(authority) + b"\x00"  # no freeze authority
    return Instruction(TOKEN_PROGRAM_ID, data, [AccountMeta(mint, False, True)])


def _mint_to_checked(mint: Pubkey, dest: Pubkey, authority: Pubkey, amount: int) -> Instruction:
    data = bytes([_MINT_TO_CHECKED]) + amount.to_bytes(8, "little") + bytes([USDC_DECIMALS])
    accounts = [
        AccountMeta(mint, False, True),
        AccountMeta(dest, False, True),
        AccountMeta(authority, True, False),
    ]
    return Instruction(TOKEN_PROGRAM_ID, data, accounts)


def _create_ata(payer: Pubkey, owner: Pubkey, mint: Pubkey) -> Instruction:
    accounts = [
        AccountMeta(payer, True, True),
        AccountMeta(associated_token_address(owner, mint), False, True),
        AccountMeta(owner, False, False),
        AccountMeta(mint, False, False),
        AccountMeta(SYSTEM_PROGRAM, False, False),
        AccountMeta(TOKEN_PROGRAM_ID, False, False),
    ]
    return Instruction(ASSOCIATED_TOKEN_PROGRAM_ID, bytes([_CREATE_IDEMPOTENT]), accounts)


def _write_seeds(path: Path, seeds: dict[str, str]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(seeds, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


@dataclass(frozen=True, slots=True)
class Faucet:
    """The node-held mint authority, the test USDC mint keypair and the program's keypair."""

    authority: Keypair
    mint: Keypair
    program: Keypair

    @classmethod
    def load_or_create(cls, state_dir: Path) -> Faucet:
        """Read ``node-keys.json``, creating it (atomically, mode 0600) on first start.

        A state folder from before the spending-caps program gets a program key added.
        """
        path = state_dir / "node-keys.json"
        seeds: dict[str, str] = {}
        if path.exists():
            seeds = json.loads(path.read_text(encoding="utf-8"))
        wanted = {name: seeds.get(name) for name in ("authority", "mint", "program")}
        if any(seed is None for seed in wanted.values()):
            seeds = {name: seed or secrets.token_hex(32) for name, seed in wanted.items()}
            _write_seeds(path, seeds)
        return cls(
            authority=Keypair.from_seed(bytes.fromhex(seeds["authority"])),
            mint=Keypair.from_seed(bytes.fromhex(seeds["mint"])),
            program=Keypair.from_seed(bytes.fromhex(seeds["program"])),
        )

    @property
    def usdc_mint(self) -> Pubkey:
        """The test USDC mint."""
        return self.mint.pubkey()

    @property
    def caps_program(self) -> Pubkey:
        """Where the spending-caps program is deployed."""
        return self.program.pubkey()

    def write_config(self, state_dir: Path) -> None:
        """Publish the mint's and the program's addresses in ``config.json``."""
        config = {
            "usdc_mint": str(self.usdc_mint),
            "mint_authority": str(self.authority.pubkey()),
            "decimals": USDC_DECIMALS,
            "caps_program": str(self.caps_program),
        }
        tmp = state_dir / "config.json.tmp"
        tmp.write_text(json.dumps(config, indent=2), encoding="utf-8")
        os.replace(tmp, state_dir / "config.json")

    def _signed(
        self, instructions: list[Instruction], blockhash: str, extra: tuple[Keypair, ...] = ()
    ) -> VersionedTransaction:
        payer = self.authority.pubkey()
        message = MessageV0.try_compile(payer, instructions, [], Hash.from_string(blockhash))
        return VersionedTransaction(message, [self.authority, *extra])

    def create_mint(self, blockhash: str, rent: int) -> VersionedTransaction:
        """The transaction that creates the USDC mint (6 decimals, no freeze authority)."""
        payer = self.authority.pubkey()
        params = CreateAccountParams(
            from_pubkey=payer,
            to_pubkey=self.usdc_mint,
            lamports=rent,
            space=MINT_LEN,
            owner=TOKEN_PROGRAM_ID,
        )
        init = _initialize_mint2(self.usdc_mint, payer, USDC_DECIMALS)
        return self._signed([create_account(params), init], blockhash, (self.mint,))

    def airdrop(self, to: Pubkey, lamports: int, blockhash: str) -> VersionedTransaction:
        """A SOL payout."""
        params = TransferParams(
            from_pubkey=self.authority.pubkey(), to_pubkey=to, lamports=lamports
        )
        return self._signed([transfer(params)], blockhash)

    def mint_usdc(self, owner: Pubkey, amount: int, blockhash: str) -> VersionedTransaction:
        """Mint ``amount`` base units to ``owner``'s associated USDC account (created if needed)."""
        payer = self.authority.pubkey()
        account = associated_token_address(owner, self.usdc_mint)
        create = _create_ata(payer, owner, self.usdc_mint)
        mint = _mint_to_checked(self.usdc_mint, account, payer, amount)
        return self._signed([create, mint], blockhash)
