"""Management routes (admin tokens only): revocation."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from quart import Blueprint, Response

from gateway.http._auth import authenticate
from gateway.http._body import read_json
from gateway.http._openapi import RouteSpec
from gateway.http._respond import json_response
from gateway.http._state import runtime
from gateway.identity import revocation_key

__all__ = ["ROUTES", "RevocationRequest", "blueprint"]


class RevocationRequest(BaseModel):
    """Revoke a token by its ``jti``, or by the sha256 hash of a token without one."""

    model_config = ConfigDict(extra="forbid")

    jti: str | None = None
    token_hash: str | None = None
    reason: str = "revoked by the owner"


class Revoked(BaseModel):
    """The key now refused everywhere."""

    revoked: str


ROUTES = (
    RouteSpec(
        "POST",
        "/v1/admin/revocations",
        "Revoke a token on every gateway process",
        "admin",
        request=RevocationRequest,
        response=Revoked,
    ),
)


def blueprint() -> Blueprint:
    """The management routes."""
    bp = Blueprint("admin", __name__)

    @bp.post("/v1/admin/revocations")
    async def revoke() -> Response:
        admin = await authenticate("admin")
        body = await read_json(RevocationRequest)
        key = revocation_key(jti=body.jti, token_hash=body.token_hash)
        await runtime().revocations.revoke(key, issuer=admin.identity, reason=body.reason)
        return json_response({"revoked": key})

    return bp
