"""The gateway's one exception tree.

Every error a caller can see is a :class:`GatewayError`. Each subclass knows its HTTP status, its
OpenAI error ``type``, a stable ``code`` and its JSON-RPC code, so the HTTP, MCP and ACP faces map
it one to one and never have to guess::

    GatewayError
    ├── ConfigError                 settings file or value is wrong (not an HTTP error)
    ├── BadRequest          400     the request names a bad field or value
    │   └── QuoteInvalid    400     unknown, expired or reused quote
    ├── AuthError           401     missing, malformed, expired or revoked token
    ├── Forbidden           403     scope, model or tool not allowed for this token
    ├── NotFound            404     unknown route, model, tool or agent
    ├── MethodNotAllowed    405
    ├── PayloadTooLarge     413
    ├── UnsupportedMediaType 415    the body is not ``application/json``
    ├── SpendingError       402     a limit refuses the call before anything is spent
    │   (budget_exhausted, spending_cap_exceeded, authority_expired, authority_revoked,
    │    insufficient_balance)
    ├── RateLimited         429     with ``retry_after`` seconds
    ├── UpstreamError       502     every candidate provider failed
    │   ├── UpstreamUnavailable 503
    │   └── UpstreamTimeout     504
    ├── KeystoreError               a key file is missing, unreadable or would be overwritten
    └── ChainError                  a chain refused or could not be reached
        └── SettlementError
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AuthError",
    "BadRequest",
    "ChainError",
    "ConfigError",
    "Forbidden",
    "GatewayError",
    "KeystoreError",
    "MethodNotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "QuoteInvalid",
    "RateLimited",
    "SettlementError",
    "SpendingError",
    "UnsupportedMediaType",
    "UpstreamError",
    "UpstreamTimeout",
    "UpstreamUnavailable",
]


class GatewayError(Exception):
    """Base of every error the gateway reports to a caller."""

    status: ClassVar[int] = 500
    error_type: ClassVar[str] = "server_error"
    default_code: ClassVar[str] = "internal_error"
    jsonrpc_code: ClassVar[int] = -32603

    def __init__(self, message: str, *, code: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.param = param

    def to_openai(self) -> dict[str, Any]:
        """The OpenAI error body: ``{"error": {"message", "type", "code", "param"}}``."""
        return {
            "error": {
                "message": self.message,
                "type": self.error_type,
                "code": self.code,
                "param": self.param,
            }
        }

    def headers(self) -> dict[str, str]:
        """Extra response headers this error carries (e.g. ``retry-after``)."""
        return {}


class ConfigError(GatewayError):
    """The settings file or a settings value is wrong."""

    default_code = "config_error"


class BadRequest(GatewayError):
    """The request is malformed or names a bad value."""

    status = 400
    error_type = "invalid_request_error"
    default_code = "invalid_request"
    jsonrpc_code = -32602


class QuoteInvalid(BadRequest):
    """A quote id that is unknown, expired or already used."""

    default_code = "quote_invalid"


class AuthError(GatewayError):
    """Missing, malformed, expired or revoked credentials."""

    status = 401
    error_type = "authentication_error"
    default_code = "invalid_token"
    jsonrpc_code = -32001


class Forbidden(GatewayError):
    """The token is valid but does not allow this route, model or tool."""

    status = 403
    error_type = "permission_error"
    default_code = "forbidden"
    jsonrpc_code = -32003


class NotFound(GatewayError):
    """Unknown route, model, tool or agent."""

    status = 404
    error_type = "not_found_error"
    default_code = "not_found"
    jsonrpc_code = -32601


class MethodNotAllowed(GatewayError):
    """The route exists but not with this method."""

    status = 405
    error_type = "invalid_request_error"
    default_code = "method_not_allowed"


class PayloadTooLarge(GatewayError):
    """The request body is larger than the configured limit."""

    status = 413
    error_type = "invalid_request_error"
    default_code = "payload_too_large"


class UnsupportedMediaType(GatewayError):
    """The body is not JSON (wrong ``content-type``)."""

    status = 415
    error_type = "invalid_request_error"
    default_code = "unsupported_media_type"


class SpendingError(GatewayError):
    """A spending limit refuses the call; nothing was forwarded upstream."""

    status = 402
    error_type = "insufficient_quota"
    default_code = "budget_exhausted"
    jsonrpc_code = -32002


class RateLimited(GatewayError):
    """The caller passed its request or token rate."""

    status = 429
    error_type = "rate_limit_error"
    default_code = "rate_limited"
    jsonrpc_code = -32004

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = max(1, retry_after)

    def headers(self) -> dict[str, str]:
        return {"retry-after": str(self.retry_after)}


class UpstreamError(GatewayError):
    """Every candidate provider failed."""

    status = 502
    error_type = "upstream_error"
    default_code = "upstream_error"
    jsonrpc_code = -32005


class UpstreamUnavailable(UpstreamError):
    """No provider could take the call (all unhealthy or refusing)."""

    status = 503
    default_code = "upstream_unavailable"


class UpstreamTimeout(UpstreamError):
    """The provider did not answer in time."""

    status = 504
    default_code = "upstream_timeout"


class KeystoreError(GatewayError):
    """A key file is missing, unreadable, or would be overwritten."""

    default_code = "keystore_error"


class ChainError(GatewayError):
    """A chain refused a transaction or could not be reached."""

    status = 502
    default_code = "chain_error"


class SettlementError(ChainError):
    """A settlement payment was refused by the chain."""

    default_code = "settlement_refused"
