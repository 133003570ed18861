"""Reading a JSON request body into a pydantic model, with errors that name the field."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError
from quart import request

from gateway.errors import BadRequest, UnsupportedMediaType

__all__ = ["read_body", "read_json"]

M = TypeVar("M", bound=BaseModel)


def _field(error: ValidationError) -> tuple[str, str]:
    first = error.errors()[0]
    loc = ".".join(str(p) for p in first["loc"])
    return loc, first["msg"]


async def read_body() -> bytes:
    """The raw JSON body of the request.

    Raises:
        UnsupportedMediaType: the content type is not JSON.
        PayloadTooLarge: via Quart's body limit, mapped by the error handler.
    """
    mime = request.mimetype
    if mime != "application/json" and not mime.endswith("+json"):
        raise UnsupportedMediaType(f"expected content-type application/json, got {mime or 'none'}")
    data = await request.get_data(cache=False, as_text=False)
    return data if isinstance(data, bytes) else data.encode()


async def read_json(model: type[M]) -> M:
    """The body parsed as ``model``.

    Raises:
        UnsupportedMediaType, PayloadTooLarge: see :func:`read_body`.
        BadRequest: the body is not JSON, or a field is missing or wrong (named in the error).
    """
    raw = await read_body()
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        if exc.errors()[0]["type"] == "json_invalid":
            raise BadRequest(f"malformed JSON body: {exc.errors()[0]['msg']}") from None
        loc, msg = _field(exc)
        raise BadRequest(f"{loc or 'body'}: {msg}", param=loc or None) from None
