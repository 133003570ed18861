"""Building the claims of a new token for one of the home's keys."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from gateway.identity._claims import BudgetRange, BudgetScope, Claims, Scope
from gateway.identity._keys import EVM_CHAIN, SOLANA_CHAIN, ChainFamily, WalletKey

__all__ = ["issue_claims", "new_jti"]


def new_jti() -> str:
    """A random token id (128 bits, base64url)."""
    return secrets.token_urlsafe(16)


def issue_claims(
    key: WalletKey,
    family: ChainFamily,
    *,
    scope: Scope,
    iat: int,
    exp: int | None,
    models: Sequence[str] | None = None,
    tools: Sequence[str] | None = None,
    budget: int | None = None,
    budget_scope: BudgetScope | None = None,
    budget_range: BudgetRange | None = None,
    agent: str | None = None,
    owner: WalletKey | None = None,
    jti: str | None = None,
) -> Claims:
    """Claims issued by ``key`` on ``family``'s chain, with a fresh ``jti`` unless given.

    ``owner`` (with ``agent``) is the master key that grants the agent key its on-chain
    authority; the token then names it in the ``owner`` claim.

    Raises:
        pydantic.ValidationError: a claim value is out of range.
    """
    return Claims(
        iss=key.caip10(family),
        chain=SOLANA_CHAIN if family == "solana" else EVM_CHAIN,
        scope=scope,
        iat=iat,
        exp=exp,
        models=tuple(models) if models is not None else None,
        tools=tuple(tools) if tools is not None else None,
        budget=budget,
        budget_scope=budget_scope,
        budget_range=budget_range,
        agent=agent,
        owner=owner.caip10(family) if owner is not None else None,
        jti=jti or new_jti(),
    )
