"""The spending-caps Solana program: its binary, instruction builders, accounts, errors, deploy.

The program (C source ``caps.c``) holds one grant per (owner, agent) and lets the grant's payee
pull the owner's tokens within a per-transaction cap, a cumulative cap and an expiry, once per
payment reference, until the owner revokes. See ``specs/onchain.md`` (Solana).
"""

from gateway.chains.solana.program._accounts import (
    GRANT_LEN,
    RECEIPT_LEN,
    GrantAccount,
    ReceiptAccount,
)
from gateway.chains.solana.program._binary import program_binary
from gateway.chains.solana.program._deploy import (
    BPF_LOADER_UPGRADEABLE_ID,
    AsyncClientRpc,
    DeployRpc,
    deploy_program,
    programdata_address,
)
from gateway.chains.solana.program._errors import ProgramError
from gateway.chains.solana.program._instructions import (
    SYSTEM_PROGRAM_ID,
    TOKEN_PROGRAM_ID,
    close_ix,
    grant_address,
    grant_ix,
    pay_ix,
    receipt_address,
    revoke_ix,
)

__all__ = [
    "BPF_LOADER_UPGRADEABLE_ID",
    "GRANT_LEN",
    "RECEIPT_LEN",
    "SYSTEM_PROGRAM_ID",
    "TOKEN_PROGRAM_ID",
    "AsyncClientRpc",
    "DeployRpc",
    "GrantAccount",
    "ProgramError",
    "ReceiptAccount",
    "close_ix",
    "deploy_program",
    "grant_address",
    "grant_ix",
    "pay_ix",
    "program_binary",
    "programdata_address",
    "receipt_address",
    "revoke_ix",
]
