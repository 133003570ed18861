"""Minting a token from the home's keystore in one call (CLI tools, notebooks, agent sessions)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from gateway.identity._claims import BudgetRange, BudgetScope, Scope
from gateway.identity._issue import issue_claims
from gateway.identity._jwt import TokenCodec
from gateway.identity._keys import ChainFamily
from gateway.identity._keystore import Keystore

__all__ = ["mint_token"]


def mint_token(
    keystore: Keystore,
    *,
    scope: Scope = "api",
    ttl_seconds: int | None = 3600,
    family: ChainFamily = "solana",
    agent: str | None = None,
    models: Sequence[str] | None = None,
    tools: Sequence[str] | None = None,
    budget: int | None = None,
    budget_scope: BudgetScope | None = None,
    budget_range: BudgetRange | None = None,
    now: float | None = None,
) -> str:
    """A token signed by the master key (or by agent ``agent``'s key).

    Raises:
        KeystoreError: the master key (or the agent) does not exist.
    """
    key = keystore.agent(agent) if agent else keystore.master()
    iat = int(time.time() if now is None else now)
    claims = issue_claims(
        key,
        family,
        scope=scope,
        iat=iat,
        exp=None if ttl_seconds is None else iat + ttl_seconds,
        models=models,
        tools=tools,
        budget=budget,
        budget_scope=budget_scope,
        budget_range=budget_range,
        agent=agent,
        owner=keystore.master() if agent and keystore.has_master() else None,
    )
    return TokenCodec().sign(claims, key)
