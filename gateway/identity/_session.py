"""Short-lived tokens for hosted agents acting for their caller.

A hosted ACP agent calls this gateway back (model calls, ``/mcp``); its calls must be charged to
the caller and stop at the caller's caps. The gateway can only sign for keys it holds, so a
session token is minted for callers that are this gateway's own keys (the master key or one of
its agents) — exactly the callers of the default ``local`` access policy — under the caller's
own identity, with the caller's allowlists and at most its remaining budget.
"""

from __future__ import annotations

from gateway.errors import Forbidden
from gateway.identity._keys import ChainFamily
from gateway.identity._keystore import Keystore
from gateway.identity._mint import mint_token
from gateway.identity._principal import Principal

__all__ = ["session_token"]


def _own_label(keystore: Keystore, principal: Principal, family: ChainFamily) -> str | None:
    if keystore.has_master() and keystore.master().address(family) == principal.address:
        return None
    label = principal.agent
    if (
        label
        and label in keystore.agents()
        and (keystore.agent(label).address(family) == principal.address)
    ):
        return label
    raise Forbidden(
        "hosted agents can act only for this gateway's own keys (its master key and agents)",
        code="delegation_unavailable",
    )


def session_token(
    keystore: Keystore, principal: Principal, *, budget: int | None, ttl_seconds: int = 3600
) -> str:
    """A token with the caller's identity and allowlists, limited to ``budget`` µUSD.

    Raises:
        Forbidden: the caller is not one of this gateway's own keys.
    """
    family: ChainFamily = "solana" if principal.namespace == "solana" else "evm"
    label = _own_label(keystore, principal, family)
    return mint_token(
        keystore,
        agent=label,
        family=family,
        ttl_seconds=ttl_seconds,
        models=principal.claims.models,
        tools=principal.claims.tools,
        budget=budget,
        budget_scope="session" if budget is not None else None,
    )
