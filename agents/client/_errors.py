"""``BitRouterError``: what the gateway refused, as the OpenAI error shape told it."""

from __future__ import annotations

from typing import Any

__all__ = ["BitRouterError"]


class BitRouterError(Exception):
    """The gateway answered with an error, or could not be reached (``status`` is then None).

    Attributes:
        status: the HTTP status (402 for a spending cap, 403 for a model outside the token…).
        code: the stable error code (``spending_cap_exceeded``, ``unknown_model``…).
        message: one line saying what is wrong.
        type: the OpenAI error type (``invalid_request_error``…).
        param: the request field at fault, when there is one.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        type: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.type = type
        self.param = param

    def __str__(self) -> str:
        where = [f"HTTP {self.status}"] if self.status is not None else []
        if self.code:
            where.append(self.code)
        return f"{self.message} ({', '.join(where)})" if where else self.message

    @classmethod
    def from_response(cls, status: int, body: Any, *, fallback: str = "") -> BitRouterError:
        """The error of a response whose body may be the OpenAI error shape (or anything)."""
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            return cls(
                str(error.get("message") or fallback or f"HTTP {status}"),
                status=status,
                code=_text(error.get("code")),
                type=_text(error.get("type")),
                param=_text(error.get("param")),
            )
        return cls(fallback or f"the gateway answered HTTP {status}", status=status)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
