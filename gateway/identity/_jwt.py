"""The token wire format: strict parsing, signing and signature checks.

Steps 1-5 of the validation order (specs/auth.md) happen here; expiry, revocation, policy and
scope are the verifier's. The structural checks are ours because general JWT libraries are
lenient (padding, extra header parameters, duplicate JSON keys). Signing and the signature
algorithms go through a private PyJWT instance on which only our two algorithms are
registered, so no other ``alg`` can ever be looked up.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Final

import jwt
from pydantic import ValidationError

from gateway.errors import AuthError
from gateway.identity._algorithms import Eip191K, SolEddsa
from gateway.identity._caip import Account, parse_account
from gateway.identity._claims import Claims
from gateway.identity._keys import ChainFamily, WalletKey

__all__ = ["ALGORITHM_FOR", "TokenCodec", "VerifiedToken", "read_unverified", "token_hash"]

ALGORITHM_FOR: Final = {"solana": "SOL_EDDSA", "eip155": "EIP191K"}
_HEADER_KEYS = frozenset({"alg", "typ"})
# Empty segments are valid base64url (of nothing); what they decode to is judged later.
_SEGMENT = re.compile("[A-Za-z0-9_-]*")


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """A token whose structure, issuer and signature are good (expiry not yet checked)."""

    alg: str
    claims: Claims
    account: Account


def token_hash(token: str) -> str:
    """Lowercase hex SHA-256 of the token text: its id for caching and revocation by hash."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _b64(segment: str, name: str) -> bytes:
    if "=" in segment:
        raise AuthError(f"token {name} is padded base64 ('=' is not allowed)")
    if not _SEGMENT.fullmatch(segment) or len(segment) % 4 == 1:
        raise AuthError(f"token {name} is not valid base64url")
    raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    # Unused low bits of the last character must be zero, or one token would have many spellings.
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != segment:
        raise AuthError(f"token {name} is not canonical base64url")
    return raw


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate key")
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_object(raw: bytes, name: str) -> dict[str, Any]:
    try:
        value = json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=_no_duplicates,
            parse_constant=_reject_constant,
        )
    except (ValueError, RecursionError):
        raise AuthError(f"token {name} is not valid JSON") from None
    if not isinstance(value, dict):
        raise AuthError(f"token {name} is not a JSON object")
    return value


@dataclass(frozen=True, slots=True)
class _Parts:
    header: dict[str, Any]
    payload: dict[str, Any]
    payload_json: bytes
    signing_input: bytes
    signature: bytes


def _parse(token: str, max_bytes: int) -> _Parts:
    if len(token) > max_bytes:
        raise AuthError(f"token is larger than {max_bytes} bytes", code="token_too_large")
    if not token.isascii():
        raise AuthError("token contains non-ASCII characters")
    segments = token.split(".")
    if len(segments) != 3:
        raise AuthError(f"token must have exactly 3 segments, not {len(segments)}")
    header = _json_object(_b64(segments[0], "header"), "header")
    payload_json = _b64(segments[1], "payload")
    signature = _b64(segments[2], "signature")
    payload = _json_object(payload_json, "payload")
    signing_input = token[: len(segments[0]) + 1 + len(segments[1])].encode("ascii")
    return _Parts(header, payload, payload_json, signing_input, signature)


def _check_header(header: dict[str, Any]) -> str:
    alg = header.get("alg")
    if alg not in ("SOL_EDDSA", "EIP191K"):
        raise AuthError("token algorithm is not accepted (only SOL_EDDSA and EIP191K are)")
    if "typ" not in header:
        raise AuthError("token header has no 'typ'")
    if header["typ"] != "JWT":
        raise AuthError("token header 'typ' must be \"JWT\"")
    if set(header) != _HEADER_KEYS:
        raise AuthError("token header may only have 'alg' and 'typ'")
    return str(alg)


def _issuer(payload: dict[str, Any]) -> Account:
    iss, chain = payload.get("iss"), payload.get("chain")
    if not isinstance(iss, str):
        raise AuthError("claim 'iss' is missing or not a string")
    try:
        account = parse_account(iss)
    except ValueError as exc:
        raise AuthError(f"claim 'iss' is not a valid CAIP-10 account: {exc}") from None
    if chain != account.chain:
        raise AuthError("claim 'chain' does not match the chain of 'iss'")
    return account


def _claims(payload: dict[str, Any], raw: bytes) -> Claims:
    for name, value in payload.items():
        if value is None:
            raise AuthError(f"claim '{name}' is null (absent claims must be omitted)")
    try:
        return Claims.model_validate_json(raw, context={"issuer_checked": payload["iss"]})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"] if not str(p).startswith("function-"))
        raise AuthError(f"claim '{where or 'payload'}': {first['msg'].lower()}") from None


class TokenCodec:
    """Signs and checks tokens; only ``SOL_EDDSA`` and ``EIP191K`` exist for it."""

    def __init__(self) -> None:
        self._jws = jwt.PyJWS(algorithms=[])
        self._jws.register_algorithm("SOL_EDDSA", SolEddsa())
        self._jws.register_algorithm("EIP191K", Eip191K())

    def sign(self, claims: Claims, key: WalletKey) -> str:
        """The token for ``claims``, signed by ``key`` (which must be the issuer)."""
        account = claims.account
        family: ChainFamily = "solana" if account.namespace == "solana" else "evm"
        if key.address(family) != account.address:
            raise ValueError("the signing key is not the token's issuer")
        # PyJWT's annotations list only its own key types; our registered algorithms take ours.
        signer: Any = key
        return self._jws.encode(
            claims.to_json(), signer, algorithm=ALGORITHM_FOR[account.namespace]
        )

    def verify(self, token: str, *, max_bytes: int) -> VerifiedToken:
        """Steps 1-5 of the validation order, then the claims' shape.

        Raises:
            AuthError: the first check that fails, named.
        """
        parts = _parse(token, max_bytes)
        alg = _check_header(parts.header)
        account = _issuer(parts.payload)
        if ALGORITHM_FOR[account.namespace] != alg:
            raise AuthError(f"algorithm {alg} does not match the issuer's {account.namespace}")
        # The algorithm comes from the private registry, where only our two exist. PyJWT's own
        # decode would re-parse what was just checked more strictly, at 2x the cost of the check.
        algorithm = self._jws.get_algorithm_by_name(alg)
        if not algorithm.verify(
            parts.signing_input, algorithm.prepare_key(account.key), parts.signature
        ):
            raise AuthError("token signature does not match the issuer")
        return VerifiedToken(alg, _claims(parts.payload, parts.payload_json), account)


def read_unverified(token: str, *, max_bytes: int = 1 << 20) -> tuple[str, dict[str, Any]]:
    """``(alg, payload)`` of a well-formed token, WITHOUT checking its signature (display only).

    Raises:
        AuthError: the token is not well formed.
    """
    parts = _parse(token, max_bytes)
    return _check_header(parts.header), parts.payload
