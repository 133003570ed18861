"""What the chain refused, in words: transaction and program errors as one-line ChainErrors."""

from __future__ import annotations

import re
from typing import Any

from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM
from solders.transaction_status import (
    InstructionErrorCustom,
    InstructionErrorFieldless,
    TransactionErrorFieldless,
    TransactionErrorInstructionError,
)
from spl.token.constants import ASSOCIATED_TOKEN_PROGRAM_ID, TOKEN_PROGRAM_ID

from gateway.chains.solana.program._errors import ProgramError
from gateway.errors import ChainError

__all__ = ["err_json", "refusal"]

# spl-token's TokenError, by custom error code.
_TOKEN_ERRORS = {
    0: ("not_rent_exempt", "the account is not rent-exempt"),
    1: ("insufficient_funds", "the account's balance or the delegate's allowance is too small"),
    2: ("invalid_mint", "the mint is invalid"),
    3: ("mint_mismatch", "the account holds a different token"),
    4: ("owner_mismatch", "the signer is neither the account's owner nor its approved delegate"),
    5: ("fixed_supply", "the token's supply is fixed"),
    6: ("already_in_use", "the account is already in use"),
    9: ("uninitialized", "the account is not initialized"),
    14: ("overflow", "the amount overflows"),
    17: ("account_frozen", "the account is frozen"),
    18: ("decimals_mismatch", "the decimals do not match the mint"),
}
_SYSTEM_ERRORS = {
    0: ("account_exists", "the account already exists"),
    1: ("insufficient_sol", "not enough SOL for the transfer"),
}
_TX_ERRORS = {
    "AccountNotFound": "the fee payer has no SOL (its account does not exist)",
    "InsufficientFundsForFee": "the fee payer has too little SOL for the fee",
    "BlockhashNotFound": "the blockhash expired before the transaction landed",
    "AlreadyProcessed": "this exact transaction was already processed",
    "SignatureFailure": "a signature is invalid",
}
_PROGRAM_NAMES = {
    TOKEN_PROGRAM_ID: "SPL Token",
    SYSTEM_PROGRAM: "System program",
    ASSOCIATED_TOKEN_PROGRAM_ID: "Associated Token Account program",
}


def _name(value: object) -> str:
    return str(value).rsplit(".", 1)[-1]


def err_json(err: Any) -> Any:
    """A TransactionError in its RPC JSON form: ``"Name"`` or ``{"InstructionError": [i, …]}``.

    solders' own ``to_json`` drops the variant names, so the form is rebuilt from the types.
    """
    if isinstance(err, dict | str):
        return err
    if isinstance(err, TransactionErrorInstructionError):
        inner = err.err
        detail: Any
        if isinstance(inner, InstructionErrorCustom):
            detail = {"Custom": inner.code}
        elif isinstance(inner, InstructionErrorFieldless):
            detail = _name(inner)
        else:
            detail = type(inner).__name__.removeprefix("InstructionError")
        return {"InstructionError": [err.index, detail]}
    if isinstance(err, TransactionErrorFieldless):
        return _name(err)
    return type(err).__name__.removeprefix("TransactionError")


def _words(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).lower()


def _instruction_reason(
    index: int, inner: Any, programs: list[Pubkey], caps_program: Pubkey | None
) -> tuple[str, str]:
    program = programs[index] if 0 <= index < len(programs) else None
    name = "a program" if program is None else _PROGRAM_NAMES.get(program, f"program {program}")
    if program is not None and program == caps_program:
        name = "spending-caps program"
    if isinstance(inner, dict) and "Custom" in inner:
        code = int(inner["Custom"])
        refused = ProgramError.from_code(code) if program == caps_program else None
        if refused is not None:
            return refused.code, f"{refused.description} ({name} error {code}, instruction {index})"
        if program == caps_program:
            # A failure inside a CPI carries the inner program's code; the program's own
            # checks run first, so what remains comes from SPL Token.
            program = TOKEN_PROGRAM_ID
        tables = {TOKEN_PROGRAM_ID: _TOKEN_ERRORS, SYSTEM_PROGRAM: _SYSTEM_ERRORS}
        table = tables.get(program, {}) if program is not None else {}
        slug, words = table.get(code, ("chain_refused", f"custom error {code}"))
        return slug, f"{words} ({name} error {code}, instruction {index})"
    label = inner if isinstance(inner, str) else next(iter(inner), "error")
    return "chain_refused", f"{_words(str(label))} ({name}, instruction {index})"


def refusal(
    action: str, err: Any, programs: list[Pubkey], caps_program: Pubkey | None = None
) -> ChainError:
    """The ChainError for a transaction the chain refused; ``code`` names the reason.

    ``programs`` are the program ids of the transaction's instructions, in order, so that a
    custom error code can be read in the words of the program that raised it; errors of the
    spending-caps program at ``caps_program`` use its own codes (``ProgramError.code``).
    """
    data = err_json(err)
    if isinstance(data, dict) and "InstructionError" in data:
        index, inner = data["InstructionError"]
        code, reason = _instruction_reason(int(index), inner, programs, caps_program)
    elif isinstance(data, str):
        code, reason = "chain_refused", _TX_ERRORS.get(data, _words(data))
    else:
        code, reason = "chain_refused", _words(str(next(iter(data), data)))
    return ChainError(f"the chain refused the {action}: {reason}", code=code)
