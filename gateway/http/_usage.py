"""Usage and money, scoped to the caller: ``/v1/usage``, ``/v1/usage/summary``, ``/v1/balance``.

Callers see their own identity; admin tokens may name any identity with ``?identity=``
(or omit it for every identity).
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, Field, ValidationError
from quart import Blueprint, Response, request

from gateway.errors import BadRequest
from gateway.http._auth import authenticate_any
from gateway.http._openapi import RouteSpec
from gateway.http._respond import json_response
from gateway.http._state import runtime
from gateway.identity import Principal
from gateway.ledger import UsageRecord
from gateway.metering import balance_view

__all__ = ["ROUTES", "blueprint"]


class UsageQuery(BaseModel):
    """Filters of ``GET /v1/usage`` (times are unix seconds)."""

    limit: int = Field(50, ge=1, le=1000)
    before: int | None = Field(None, description="the next_before of the previous page")
    model: str | None = Field(None, description="a model, tool or agent name")
    provider: str | None = None
    kind: Literal["model", "tool", "agent"] | None = None
    since: float | None = None
    until: float | None = None
    identity: str | None = Field(None, description="admin tokens only: whose usage")


class SummaryQuery(BaseModel):
    """``GET /v1/usage/summary``: totals grouped one way."""

    group_by: Literal["model", "provider", "day", "kind"] = "model"
    kind: Literal["model", "tool", "agent"] | None = None
    since: float | None = None
    until: float | None = None
    identity: str | None = None


class BalanceQuery(BaseModel):
    """``GET /v1/balance``."""

    identity: str | None = None


ROUTES = (
    RouteSpec(
        "GET",
        "/v1/usage",
        "Calls of the caller with tokens and cost, newest first",
        "api",
        query=UsageQuery,
    ),
    RouteSpec(
        "GET",
        "/v1/usage/summary",
        "Spend grouped by model, provider, day or kind",
        "api",
        query=SummaryQuery,
    ),
    RouteSpec(
        "GET",
        "/v1/balance",
        "Limits, spent, reserved, remaining, expiry and wallet balances of the caller",
        "api",
        query=BalanceQuery,
    ),
)


Q = TypeVar("Q", bound=BaseModel)


def _query(model: type[Q]) -> Q:
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise BadRequest(f"{field}: {first['msg']}", param=field) from None


def _scope(principal: Principal, identity: str | None, everyone: bool) -> str | None:
    """Whose data a caller may read: its own, or (admin) any identity or all of them."""
    if principal.scope != "admin":
        if identity not in (None, principal.identity):
            raise BadRequest(
                "identity: only admin tokens may read another identity's usage", param="identity"
            )
        return principal.identity
    return identity if identity or everyone else principal.identity


def _row(record: UsageRecord) -> dict[str, Any]:
    return {
        "request_id": record.request_id,
        "created_at": record.created_at,
        "identity": record.identity,
        "kind": record.kind,
        "subject": record.subject,
        "provider": record.provider,
        "status": record.status,
        "prompt_tokens": record.prompt_tokens,
        "completion_tokens": record.completion_tokens,
        "cached_tokens": record.cached_tokens,
        "reasoning_tokens": record.reasoning_tokens,
        "cost_micro_usd": record.cost,
        "reserved_micro_usd": record.reserved,
        "latency_ms": record.latency_ms,
        "ttft_ms": record.ttft_ms,
        "outcome": record.outcome,
        "settle_tx": record.settle_tx,
    }


def blueprint() -> Blueprint:
    """The usage and balance routes."""
    bp = Blueprint("usage", __name__)

    @bp.get("/v1/usage")
    async def usage() -> Response:
        principal = await authenticate_any()
        q = _query(UsageQuery)
        page = await runtime().ledger.usage(
            _scope(principal, q.identity, everyone=True),
            limit=q.limit,
            before=q.before,
            subject=q.model,
            provider=q.provider,
            kind=q.kind,
            since=q.since,
            until=q.until,
        )
        return json_response(
            {
                "object": "list",
                "data": [_row(r) for r in page.items],
                "has_more": page.next_before is not None,
                "next_before": page.next_before,
            }
        )

    @bp.get("/v1/usage/summary")
    async def summary() -> Response:
        principal = await authenticate_any()
        q = _query(SummaryQuery)
        rows = await runtime().ledger.summary(
            _scope(principal, q.identity, everyone=True),
            group_by=q.group_by,
            kind=q.kind,
            since=q.since,
            until=q.until,
        )
        data = [{**r.to_dict(), "cost_micro_usd": r.cost} for r in rows]
        for item in data:
            item.pop("cost", None)
        return json_response(
            {
                "group_by": q.group_by,
                "data": data,
                "total_cost_micro_usd": sum(r.cost for r in rows),
            }
        )

    @bp.get("/v1/balance")
    async def balance() -> Response:
        principal = await authenticate_any()
        q = _query(BalanceQuery)
        rt = runtime()
        whose = _scope(principal, q.identity, everyone=False)
        return json_response(await balance_view(rt.spend, principal, whose, rt.wallets))

    return bp
