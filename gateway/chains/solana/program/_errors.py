"""The spending-caps program's own error codes (``custom program error N``), as in ``caps.c``."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ProgramError"]


class ProgramError(IntEnum):
    """A refusal by the program; the value is the custom error code the transaction fails with."""

    INVALID_INSTRUCTION = 100
    NOT_ENOUGH_ACCOUNTS = 101
    MISSING_SIGNATURE = 102
    NOT_WRITABLE = 103
    WRONG_PROGRAM = 104
    INVALID_GRANT_ADDRESS = 105
    GRANT_EXISTS = 106
    INVALID_GRANT = 107
    INVALID_CAPS = 108
    EXPIRY_IN_PAST = 109
    INVALID_MINT = 110
    INVALID_TOKEN_ACCOUNT = 111
    OWNER_MISMATCH = 112
    SOURCE_MISMATCH = 113
    MINT_MISMATCH = 114
    DESTINATION_MISMATCH = 115
    PAYEE_MISMATCH = 116
    REVOKED = 117
    EXPIRED = 118
    ZERO_AMOUNT = 119
    OVER_PER_TX_CAP = 120
    OVER_CUMULATIVE_CAP = 121
    ALLOWANCE_TOO_LOW = 122
    INSUFFICIENT_FUNDS = 123
    INVALID_RECEIPT_ADDRESS = 124
    REFERENCE_USED = 125
    NOT_REVOKED = 126

    @property
    def description(self) -> str:
        """One line saying what was refused."""
        return _DESCRIPTIONS[self]

    @property
    def code(self) -> str:
        """A stable snake-case code, the same word the EVM backend uses where one exists."""
        return _SHARED_CODES.get(self, self.name.lower())

    @classmethod
    def from_code(cls, code: int) -> ProgramError | None:
        """The error for a custom error code, or None if the code is not this program's."""
        try:
            return cls(code)
        except ValueError:
            return None


_DESCRIPTIONS = {
    ProgramError.INVALID_INSTRUCTION: "unknown instruction or wrong instruction data length",
    ProgramError.NOT_ENOUGH_ACCOUNTS: "the instruction lists too few accounts",
    ProgramError.MISSING_SIGNATURE: "the owner or payee did not sign",
    ProgramError.NOT_WRITABLE: "an account the instruction changes was passed read-only",
    ProgramError.WRONG_PROGRAM: "the token or system program account is not the real one",
    ProgramError.INVALID_GRANT_ADDRESS: "the grant account is not the grant's derived address",
    ProgramError.GRANT_EXISTS: "a grant for this owner and agent already exists",
    ProgramError.INVALID_GRANT: "the grant account is not a grant of this program",
    ProgramError.INVALID_CAPS: "the per-transaction cap is 0 or above the cumulative cap",
    ProgramError.EXPIRY_IN_PAST: "the expiry is not in the future",
    ProgramError.INVALID_MINT: "the mint is not an initialized SPL Token mint",
    ProgramError.INVALID_TOKEN_ACCOUNT: "a token account is not an initialized, unfrozen one",
    ProgramError.OWNER_MISMATCH: "the signer does not own the grant or the source account",
    ProgramError.SOURCE_MISMATCH: "the source is not the grant's token account",
    ProgramError.MINT_MISMATCH: "the mint is not the grant's mint",
    ProgramError.DESTINATION_MISMATCH: "the destination is not the payee's account of the mint",
    ProgramError.PAYEE_MISMATCH: "the signer is not the grant's payee",
    ProgramError.REVOKED: "the grant is revoked",
    ProgramError.EXPIRED: "the grant has expired",
    ProgramError.ZERO_AMOUNT: "the amount is 0",
    ProgramError.OVER_PER_TX_CAP: "the amount is above the per-transaction cap",
    ProgramError.OVER_CUMULATIVE_CAP: "the amount would pass the cumulative cap",
    ProgramError.ALLOWANCE_TOO_LOW: "the owner's SPL approval of the grant is gone or too small",
    ProgramError.INSUFFICIENT_FUNDS: "the source holds less than the amount",
    ProgramError.INVALID_RECEIPT_ADDRESS: "the receipt is not the address of (grant, reference)",
    ProgramError.REFERENCE_USED: "a payment with this reference was already made",
    ProgramError.NOT_REVOKED: "only a revoked grant can be closed",
}

# The codes the Tempo backend's errors already use (specs/onchain.md, EVM-BACKEND-2).
_SHARED_CODES = {
    ProgramError.OVER_PER_TX_CAP: "per_tx_cap_exceeded",
    ProgramError.OVER_CUMULATIVE_CAP: "cumulative_cap_exceeded",
    ProgramError.PAYEE_MISMATCH: "not_payee",
    ProgramError.INVALID_GRANT: "no_authority",
    ProgramError.INSUFFICIENT_FUNDS: "insufficient_balance",
    ProgramError.ALLOWANCE_TOO_LOW: "insufficient_allowance",
}
