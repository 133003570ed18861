"""``GET /v1/transactions``: the on-chain settlements of the caller, newest first.

An agent's token sees the settlements of its own authority, the owner's (master) token those
of all its agents; admin tokens may name any identity with ``?identity=`` or omit it for all.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, ValidationError
from quart import Blueprint, Response, request

from gateway.errors import BadRequest
from gateway.http._auth import authenticate_any
from gateway.http._openapi import RouteSpec
from gateway.http._respond import json_response
from gateway.http._state import runtime
from gateway.onchain import Onchain

__all__ = ["ROUTES", "Transaction", "TransactionList", "TransactionsQuery", "blueprint"]


class TransactionsQuery(BaseModel):
    """Filters of ``GET /v1/transactions``."""

    limit: int = Field(100, ge=1, le=1000)
    identity: str | None = Field(None, description="admin tokens only: whose settlements")


class Transaction(BaseModel):
    """One settlement payment on-chain."""

    chain: str
    tx_id: str | None = Field(description="the transaction (None until it is sent)")
    amount_micro_usd: int
    agent: str = Field(description="the paying agent's authority (CAIP-10)")
    created_at: float
    status: str = Field(description="pending, settled or refused")
    reference: str = Field(description="the payment's 32-byte reference, hex")
    charges: int = Field(description="how many charges it pays")
    error: str | None = Field(description="why the chain refused it")


class TransactionList(BaseModel):
    """The list shape."""

    object: str = "list"
    data: list[Transaction]


ROUTES = (
    RouteSpec(
        "GET",
        "/v1/transactions",
        "On-chain settlements of the caller, newest first",
        "api",
        response=TransactionList,
        query=TransactionsQuery,
    ),
)


def _query() -> TransactionsQuery:
    try:
        return TransactionsQuery.model_validate(request.args.to_dict())
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise BadRequest(f"{field}: {first['msg']}", param=field) from None


def _onchain() -> Onchain | None:
    # ``Runtime.onchain`` is None when the gateway runs without chains.
    found: Onchain | None = getattr(runtime(), "onchain", None)
    return found


def blueprint() -> Blueprint:
    """The transactions route."""
    bp = Blueprint("transactions", __name__)

    @bp.get("/v1/transactions")
    async def transactions() -> Response:
        principal = await authenticate_any()
        q = _query()
        if principal.scope != "admin" and q.identity not in (None, principal.identity):
            raise BadRequest(
                "identity: only admin tokens may read another identity's transactions",
                param="identity",
            )
        whose = q.identity if principal.scope == "admin" else principal.identity
        onchain = _onchain()
        data = [] if onchain is None else await onchain.transactions(whose, limit=q.limit)
        return json_response({"object": "list", "data": data})

    return bp
