"""The token payload: the reference claims plus ours (``jti``, ``agent``, ``owner``, ``tools``).

Absent claims are omitted on the wire, never ``null``; the verifier refuses ``null`` so that no
reader can mistake ``"exp": null`` for "no expiry" while another reads it as an error.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from gateway.identity._caip import Account, parse_account

__all__ = [
    "LABEL_PATTERN",
    "BudgetRange",
    "BudgetScope",
    "Claims",
    "DurationRange",
    "RoundsRange",
    "Scope",
]

Scope = Literal["api", "admin"]
BudgetScope = Literal["session", "account"]
LABEL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"

# Signed 64-bit bounds keep every number storable in the ledger as it is.
_Int64 = Annotated[int, Field(ge=0, le=2**63 - 1)]
_Positive = Annotated[int, Field(ge=1, le=2**63 - 1)]
_Glob = Annotated[str, Field(pattern=r"^[\x21-\x7e]{1,256}$")]
_Jti = Annotated[str, Field(pattern=r"^[\x21-\x7e]{1,128}$")]
_Label = Annotated[str, Field(pattern=LABEL_PATTERN)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")


class RoundsRange(_Frozen):
    """The budget covers the next ``count`` requests."""

    type: Literal["rounds"]
    count: _Positive


class DurationRange(_Frozen):
    """The budget covers a rolling window of ``seconds``."""

    type: Literal["duration"]
    seconds: _Positive


BudgetRange = Annotated[RoundsRange | DurationRange, Field(discriminator="type")]


class Claims(BaseModel):
    """A token's claims. ``iss`` is the signer's CAIP-10 account and ``chain`` its CAIP-2 id."""

    # Unknown claims are ignored: other issuers may add their own, harmlessly.
    model_config = ConfigDict(frozen=True, strict=True, extra="ignore")

    iss: str
    chain: str
    scope: Scope
    iat: _Int64 | None = None
    exp: _Int64 | None = None
    models: tuple[_Glob, ...] | None = None
    budget: _Int64 | None = None
    budget_scope: BudgetScope | None = None
    budget_range: BudgetRange | None = None
    jti: _Jti | None = None
    agent: _Label | None = None
    # CAIP-10 of the master key that granted the signing agent key its on-chain authority, so
    # that a gateway without that keystore can find the authority (owner, agent) on-chain.
    owner: str | None = None
    tools: tuple[_Glob, ...] | None = None

    @model_validator(mode="after")
    def _chain_is_issuers(self, info: ValidationInfo) -> Claims:
        # The verifier has parsed ``iss`` already (step 3) and says so, sparing a second parse.
        if info.context is not None and info.context.get("issuer_checked") == self.iss:
            return self
        try:
            account = parse_account(self.iss)
        except ValueError as exc:
            raise ValueError(f"iss is not a CAIP-10 account: {exc}") from None
        if self.chain != account.chain:
            raise ValueError("chain must equal the CAIP-2 prefix of iss")
        return self

    @model_validator(mode="after")
    def _owner_is_an_account(self) -> Claims:
        if self.owner is None:
            return self
        try:
            owner = parse_account(self.owner)
        except ValueError as exc:
            raise ValueError(f"owner is not a CAIP-10 account: {exc}") from None
        if owner.namespace != self.iss.split(":", 1)[0]:
            raise ValueError("owner must be an account of the issuer's chain namespace")
        return self

    @property
    def account(self) -> Account:
        """The issuer as a parsed, canonical account."""
        return parse_account(self.iss)

    def to_json(self) -> bytes:
        """Compact JSON with absent claims omitted."""
        return self.model_dump_json(exclude_none=True).encode("utf-8")
