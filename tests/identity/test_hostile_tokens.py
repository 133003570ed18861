"""Tokens an attacker might send: each is refused with 401 and a reason naming the check."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import base58
import jwt
import nacl.signing
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from eth_account import Account as EthAccount
from eth_account.messages import encode_defunct

from gateway.errors import AuthError
from gateway.identity import MemoryRevocationStore, Verifier

MakeVerifier = Callable[..., tuple[Verifier, MemoryRevocationStore]]
NOW = 1_750_000_000
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SOL = "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp"
EVM = "eip155:4217"

ED = nacl.signing.SigningKey(bytes(range(32)))
ED_OTHER = nacl.signing.SigningKey(bytes(32))
SOL_ADDRESS = base58.b58encode(bytes(ED.verify_key)).decode()
ETH = EthAccount.from_key(
    bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
)
ETH_OTHER = EthAccount.from_key(b"\x11" * 32)
SOL_ISS = f"{SOL}:{SOL_ADDRESS}"
EVM_ISS = f"{EVM}:{ETH.address}"
SOL_HEADER = {"alg": "SOL_EDDSA", "typ": "JWT"}
EVM_HEADER = {"alg": "EIP191K", "typ": "JWT"}


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def js(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def sol_claims(**changes: Any) -> dict[str, Any]:
    return {"iss": SOL_ISS, "chain": SOL, "scope": "api", "exp": NOW + 60, **changes}


def evm_claims(**changes: Any) -> dict[str, Any]:
    return {"iss": EVM_ISS, "chain": EVM, "scope": "api", "exp": NOW + 60, **changes}


def ed_sig(key: nacl.signing.SigningKey) -> Callable[[bytes], bytes]:
    return lambda data: key.sign(data).signature


def eth_sig(account: Any) -> Callable[[bytes], bytes]:
    return lambda data: bytes(
        EthAccount.sign_message(encode_defunct(primitive=data), account.key).signature
    )


def build(header: Any, payload: Any, sign: Callable[[bytes], bytes] | None = None) -> str:
    sign = sign or ed_sig(ED)
    h = header if isinstance(header, bytes) else js(header)
    p = payload if isinstance(payload, bytes) else js(payload)
    signing_input = f"{b64(h)}.{b64(p)}"
    return f"{signing_input}.{b64(sign(signing_input.encode()))}"


def good_sol() -> str:
    return build(SOL_HEADER, sol_claims())


def good_evm() -> str:
    return build(EVM_HEADER, evm_claims(), eth_sig(ETH))


def hs256_with_address() -> str:
    return build(
        {"alg": "HS256", "typ": "JWT"},
        sol_claims(),
        lambda data: hmac.new(SOL_ADDRESS.encode(), data, hashlib.sha256).digest(),
    )


def rs256() -> str:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(sol_claims(), private, algorithm="RS256")


def padded(segment: int) -> str:
    parts = good_sol().split(".")
    parts[segment] += "=" * (-len(parts[segment]) % 4)
    return ".".join(parts)


def high_s() -> str:
    """The same EIP-191 signature in its other valid (malleated) encoding."""
    head, body, sig = good_evm().split(".")
    raw = base64.urlsafe_b64decode(sig + "==")
    s = N - int.from_bytes(raw[32:64], "big")
    return f"{head}.{body}.{b64(raw[:32] + s.to_bytes(32, 'big') + bytes([55 - raw[64]]))}"


def v_zero_one() -> str:
    head, body, sig = good_evm().split(".")
    raw = base64.urlsafe_b64decode(sig + "==")
    return f"{head}.{body}.{b64(raw[:64] + bytes([raw[64] - 27]))}"


def non_canonical_last_char() -> str:
    token = good_sol()
    # 64 bytes → 86 characters; the last one carries 4 unused bits, which must be zero.
    last = token[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return token[:-1] + alphabet[alphabet.index(last) | 1]


def wrong_checksum(caip10: str) -> str:
    i = max(i for i, c in enumerate(caip10) if c in "abcdefABCDEF")
    return caip10[:i] + caip10[i].swapcase() + caip10[i + 1 :]


def huge() -> str:
    return build(SOL_HEADER, sol_claims(models=[f"vendor/model-{i:05d}" for i in range(900)]))


LOOKALIKE_SOL = SOL_ISS.replace("e", "\u0435", 1)  # Cyrillic е in "5eykt…"
CORPUS: list[tuple[str, Callable[[], str], str]] = [
    (
        "alg none, empty signature",
        lambda: build({"alg": "none", "typ": "JWT"}, sol_claims(), lambda _: b""),
        "algorithm is not accepted",
    ),
    (
        "alg none, signed",
        lambda: build({"alg": "none", "typ": "JWT"}, sol_claims()),
        "algorithm is not accepted",
    ),
    ("HS256 keyed by the address", hs256_with_address, "algorithm is not accepted"),
    ("RS256", rs256, "algorithm is not accepted"),
    (
        "look-alike alg",
        lambda: build({"alg": "SOL_EDDS\u0410", "typ": "JWT"}, sol_claims()),
        "algorithm is not accepted",
    ),
    ("no alg", lambda: build({"typ": "JWT"}, sol_claims()), "algorithm is not accepted"),
    ("typ JWS", lambda: build({"alg": "SOL_EDDSA", "typ": "JWS"}, sol_claims()), "'typ' must be"),
    (
        "typ lower case",
        lambda: build({"alg": "SOL_EDDSA", "typ": "jwt"}, sol_claims()),
        "'typ' must be",
    ),
    ("typ missing", lambda: build({"alg": "SOL_EDDSA"}, sol_claims()), "no 'typ'"),
    (
        "extra header kid",
        lambda: build({**SOL_HEADER, "kid": "x"}, sol_claims()),
        "only have 'alg' and 'typ'",
    ),
    (
        "extra header crit",
        lambda: build({**SOL_HEADER, "crit": ["b64"], "b64": False}, sol_claims()),
        "only have 'alg' and 'typ'",
    ),
    ("padded header", lambda: padded(0), "padded base64"),
    ("padded signature", lambda: padded(2), "padded base64"),
    ("standard base64 alphabet", lambda: good_sol()[:-1] + "+", "not valid base64url"),
    ("non-canonical last character", non_canonical_last_char, "not canonical"),
    ("two segments", lambda: good_sol().rsplit(".", 1)[0], "exactly 3 segments, not 2"),
    ("four segments", lambda: good_sol() + ".e30", "exactly 3 segments, not 4"),
    ("non-JSON header", lambda: build(b"not json", sol_claims()), "header is not valid JSON"),
    (
        "header is an array",
        lambda: build(b'["SOL_EDDSA"]', sol_claims()),
        "header is not a JSON obj",
    ),
    ("non-JSON payload", lambda: build(SOL_HEADER, b"iss=me"), "payload is not valid JSON"),
    (
        "payload not UTF-8",
        lambda: build(SOL_HEADER, b'{"iss":"\xff"}'),
        "payload is not valid JSON",
    ),
    (
        "duplicate claim",
        lambda: build(SOL_HEADER, js(sol_claims())[:-1] + b',"scope":"admin"}'),
        "payload is not valid JSON",
    ),
    (
        "NaN claim",
        lambda: build(SOL_HEADER, js(sol_claims())[:-1] + b',"budget":NaN}'),
        "payload is not valid JSON",
    ),
    ("no iss", lambda: build(SOL_HEADER, {"chain": SOL, "scope": "api"}), "claim 'iss' is missing"),
    (
        "chain is another chain",
        lambda: build(SOL_HEADER, sol_claims(chain="solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1")),
        "'chain' does not match",
    ),
    (
        "chain missing",
        lambda: build(SOL_HEADER, {"iss": SOL_ISS, "scope": "api"}),
        "'chain' does not match",
    ),
    (
        "SOL_EDDSA for an eip155 issuer",
        lambda: build(SOL_HEADER, evm_claims()),
        "SOL_EDDSA does not match the issuer's eip155",
    ),
    (
        "EIP191K for a solana issuer",
        lambda: build(EVM_HEADER, sol_claims(), eth_sig(ETH)),
        "EIP191K does not match the issuer's solana",
    ),
    (
        "Ed25519 signature of another key",
        lambda: build(SOL_HEADER, sol_claims(), ed_sig(ED_OTHER)),
        "signature does not match",
    ),
    (
        "EIP-191 signature of another key",
        lambda: build(EVM_HEADER, evm_claims(), eth_sig(ETH_OTHER)),
        "signature does not match",
    ),
    ("EIP-191 high-s twin", high_s, "signature does not match"),
    ("EIP-191 v as 0/1", v_zero_one, "signature does not match"),
    ("exp equal to now", lambda: build(SOL_HEADER, sol_claims(exp=NOW)), "expired"),
    (
        "exp in the past",
        lambda: build(EVM_HEADER, evm_claims(exp=NOW - 1), eth_sig(ETH)),
        "expired",
    ),
    ("exp null", lambda: build(SOL_HEADER, sol_claims(exp=None)), "'exp' is null"),
    ("exp as a string", lambda: build(SOL_HEADER, sol_claims(exp=str(NOW + 60))), "claim 'exp'"),
    ("exp as a float", lambda: build(SOL_HEADER, sol_claims(exp=NOW + 60.5)), "claim 'exp'"),
    ("scope unknown", lambda: build(SOL_HEADER, sol_claims(scope="root")), "claim 'scope'"),
    ("budget negative", lambda: build(SOL_HEADER, sol_claims(budget=-1)), "claim 'budget'"),
    ("budget boolean", lambda: build(SOL_HEADER, sol_claims(budget=True)), "claim 'budget'"),
    (
        "budget_range bad",
        lambda: build(SOL_HEADER, sol_claims(budget_range={"type": "rounds", "count": 0})),
        "claim 'budget_range",
    ),
    (
        "admin without exp",
        lambda: build(SOL_HEADER, {"iss": SOL_ISS, "chain": SOL, "scope": "admin"}),
        "admin tokens must carry 'exp'",
    ),
    ("token over 16 KiB", huge, "larger than 16384 bytes"),
    (
        "look-alike in iss chain",
        lambda: build(SOL_HEADER, sol_claims(iss=LOOKALIKE_SOL)),
        "non-ASCII",
    ),
    (
        "look-alike in iss address",
        lambda: build(SOL_HEADER, sol_claims(iss=SOL_ISS[:-3] + "\u0391" + SOL_ISS[-2:])),
        "non-ASCII",
    ),
    (
        "fullwidth digits in chain id",
        lambda: build(
            EVM_HEADER,
            evm_claims(
                iss=f"eip155:\uff14\uff12\uff11\uff17:{ETH.address}",
                chain="eip155:\uff14\uff12\uff11\uff17",
            ),
            eth_sig(ETH),
        ),
        "non-ASCII",
    ),
    (
        "iss with a newline",
        lambda: build(SOL_HEADER, sol_claims(iss=SOL_ISS + "\n")),
        "not a valid CAIP-10",
    ),
    (
        "EVM address with a wrong checksum",
        lambda: build(EVM_HEADER, evm_claims(iss=wrong_checksum(EVM_ISS)), eth_sig(ETH)),
        "checksum",
    ),
    (
        "Solana address of 31 bytes",
        lambda: build(
            SOL_HEADER,
            sol_claims(iss=f"{SOL}:{base58.b58encode(bytes(ED.verify_key)[:31]).decode()}"),
        ),
        "32 bytes",
    ),
    (
        "unknown namespace",
        lambda: build(SOL_HEADER, sol_claims(iss=f"cosmos:hub:{SOL_ADDRESS}")),
        "namespace",
    ),
    ("non-ASCII in the token", lambda: good_sol() + "\u00e9", "non-ASCII"),
    ("lone surrogate in the token", lambda: good_sol()[:-1] + "\ud800", "non-ASCII"),
]


@pytest.mark.req("AUTH-VER-1")
@pytest.mark.parametrize(
    ("build_token", "reason"), [(b, r) for _, b, r in CORPUS], ids=[name for name, _, _ in CORPUS]
)
async def test_hostile_token_is_refused(
    build_token: Callable[[], str], reason: str, make_verifier: MakeVerifier
) -> None:
    verifier, _ = make_verifier(policy="open")
    token = build_token()
    with pytest.raises(AuthError) as info:
        await verifier.verify(token, scope="api")
    assert info.value.status == 401
    assert reason in info.value.message
    assert "\n" not in info.value.message
    assert token not in info.value.message
    signature = token.split(".")[-1]
    assert not signature or signature not in info.value.message


async def test_the_corpus_bases_are_valid(make_verifier: MakeVerifier) -> None:
    verifier, _ = make_verifier(policy="open")
    assert (await verifier.verify(good_sol(), scope="api")).identity == SOL_ISS
    assert (await verifier.verify(good_evm(), scope="api")).identity == EVM_ISS
    # One character below the limit size-wise is fine; the limit itself is about bytes.
    assert len(huge()) > 16 * 1024


@pytest.mark.req("AUTH-VER-1")
@pytest.mark.parametrize("make_token", [good_sol, good_evm], ids=["SOL_EDDSA", "EIP191K"])
async def test_a_flipped_bit_anywhere_is_refused(
    make_token: Callable[[], str], make_verifier: MakeVerifier
) -> None:
    verifier, _ = make_verifier(policy="open", cache=0)
    token = make_token()
    await verifier.verify(token, scope="api")
    for i, char in enumerate(token):
        for bit in range(8):
            flipped = token[:i] + chr(ord(char) ^ (1 << bit)) + token[i + 1 :]
            with pytest.raises(AuthError):
                await verifier.verify(flipped, scope="api")
