"""The wire format, checked against code that knows only specs/auth.md (PyNaCl, eth-account)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import base58
import nacl.signing
import pytest
from eth_account import Account as EthAccount
from eth_account.messages import encode_defunct

from gateway.identity import (
    MemoryRevocationStore,
    RoundsRange,
    TokenCodec,
    Verifier,
    WalletKey,
    issue_claims,
    token_hash,
)

Mint = Callable[..., str]
MakeVerifier = Callable[..., tuple[Verifier, MemoryRevocationStore]]
NOW = 1_750_000_000  # the fake clock's time (conftest)

SOLANA_CHAIN = "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp"

VECTOR_SOL = (
    "eyJhbGciOiJTT0xfRUREU0EiLCJ0eXAiOiJKV1QifQ.eyJpc3MiOiJzb2xhbmE6NWV5a3Q0VXNGdjhQOE5KZFRSRXBZM"
    "XZ6cUtxWkt2ZHA6RkFlNHNpc0c5NW9aNDJ3N2J1VW41cUVFNFRBbmZUVEZQaWd1WlVIbWhpRiIsImNoYWluIjoic29sYW"
    "5hOjVleWt0NFVzRnY4UDhOSmRUUkVwWTF2enFLcVpLdmRwIiwic2NvcGUiOiJhcGkiLCJpYXQiOjE3NTAwMDAwMDAsImV4c"
    "CI6MTc4MTUzNjAwMCwibW9kZWxzIjpbIm9wZW5haS8qIiwiYW50aHJvcGljOmNsYXVkZS0qIl0sImJ1ZGdldCI6NTAwMDAw"
    "MCwiYnVkZ2V0X3Njb3BlIjoic2Vzc2lvbiIsImJ1ZGdldF9yYW5nZSI6eyJ0eXBlIjoicm91bmRzIiwiY291bnQiOjEwfSw"
    "ianRpIjoidmVjdG9yLTEifQ.f40iVve0mGClfldwrXVZ6JxwKTrt0pn3S9WPIcJYYn2lmANGzFnu03Nih-MFu9hwJxv7viv"
    "lb68G3KckGZ94Dg"
)
VECTOR_EVM = (
    "eyJhbGciOiJFSVAxOTFLIiwidHlwIjoiSldUIn0.eyJpc3MiOiJlaXAxNTU6NDIxNzoweDIwQkMzM2I1N2YxMGQ3MTcyOU"
    "VEMEIyREVDMjczNTdhQjg0RGZkQWMiLCJjaGFpbiI6ImVpcDE1NTo0MjE3Iiwic2NvcGUiOiJhcGkiLCJpYXQiOjE3NTAwM"
    "DAwMDAsImV4cCI6MTc4MTUzNjAwMCwibW9kZWxzIjpbIm9wZW5haS8qIiwiYW50aHJvcGljOmNsYXVkZS0qIl0sImJ1ZGdl"
    "dCI6NTAwMDAwMCwiYnVkZ2V0X3Njb3BlIjoic2Vzc2lvbiIsImJ1ZGdldF9yYW5nZSI6eyJ0eXBlIjoicm91bmRzIiwiY29"
    "1bnQiOjEwfSwianRpIjoidmVjdG9yLTEifQ.J1O-ngzQXla9AVPVh19wyde9y-yDaB7hRC2EfB0QeqAKSsNXHtZACp18Fq6"
    "4rSQFW_JQh6YvG09pCVT4jg9QIBs"
)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def independent_ed25519(signer: nacl.signing.SigningKey, payload: dict[str, Any]) -> str:
    """A SOL_EDDSA token made only from the format description."""
    signing_input = f"{b64(compact({'alg': 'SOL_EDDSA', 'typ': 'JWT'}))}.{b64(compact(payload))}"
    return f"{signing_input}.{b64(signer.sign(signing_input.encode()).signature)}"


def independent_eip191(private_key: bytes, payload: dict[str, Any]) -> str:
    """An EIP191K token made only from the format description."""
    signing_input = f"{b64(compact({'alg': 'EIP191K', 'typ': 'JWT'}))}.{b64(compact(payload))}"
    signed = EthAccount.sign_message(encode_defunct(primitive=signing_input.encode()), private_key)
    return f"{signing_input}.{b64(bytes(signed.signature))}"


def sol_address(signer: nacl.signing.SigningKey) -> str:
    return base58.b58encode(bytes(signer.verify_key)).decode()


@pytest.mark.req("AUTH-TOK-1", "AUTH-TOK-2")
@pytest.mark.parametrize(("family", "expected"), [("solana", VECTOR_SOL), ("evm", VECTOR_EVM)])
def test_spec_vectors_are_reproduced(family: Any, expected: str) -> None:
    key = WalletKey(bytes(range(32)))
    claims = issue_claims(
        key,
        family,
        scope="api",
        iat=1750000000,
        exp=1781536000,
        models=["openai/*", "anthropic:claude-*"],
        budget=5000000,
        budget_scope="session",
        budget_range=RoundsRange(type="rounds", count=10),
        jti="vector-1",
    )
    assert TokenCodec().sign(claims, key) == expected


@pytest.mark.req("AUTH-TOK-1")
@pytest.mark.parametrize("family", ["solana", "evm"])
async def test_round_trip(
    family: Any, master: WalletKey, mint: Mint, make_verifier: MakeVerifier
) -> None:
    verifier, _ = make_verifier()
    token = mint(master, family, models=["openai/*"], budget=7, agent="a1", tools=["fs__*"])
    principal = await verifier.verify(token, scope="api")
    assert principal.identity == master.caip10(family)
    assert principal.address == master.address(family)
    assert principal.claims.models == ("openai/*",) and principal.claims.budget == 7
    assert principal.claims.tools == ("fs__*",) and principal.agent == "a1"
    assert principal.token_hash == token_hash(token)


@pytest.mark.req("AUTH-TOK-1", "AUTH-VER-2")
def test_our_tokens_verify_with_independent_code() -> None:
    key = WalletKey(bytes(range(32)))
    for token in (VECTOR_SOL, VECTOR_EVM):
        header_b64, payload_b64, sig_b64 = token.split(".")
        header, payload = json.loads(unb64(header_b64)), json.loads(unb64(payload_b64))
        assert set(header) == {"alg", "typ"} and header["typ"] == "JWT"
        signing_input = f"{header_b64}.{payload_b64}".encode()
        signature = unb64(sig_b64)
        if header["alg"] == "SOL_EDDSA":
            assert len(signature) == 64
            address = payload["iss"].rsplit(":", 1)[1]
            nacl.signing.VerifyKey(base58.b58decode(address)).verify(signing_input, signature)
            assert address == key.solana_address
        else:
            assert header["alg"] == "EIP191K" and len(signature) == 65 and signature[64] in (27, 28)
            recovered = EthAccount.recover_message(
                encode_defunct(primitive=signing_input), signature=signature
            )
            assert payload["iss"] == f"{payload['chain']}:{recovered}" == key.caip10("evm")


@pytest.mark.req("AUTH-VER-2")
async def test_independently_made_tokens_are_accepted(make_verifier: MakeVerifier) -> None:
    verifier, _ = make_verifier(policy="open")
    ed = nacl.signing.SigningKey.generate()
    iss = f"{SOLANA_CHAIN}:{sol_address(ed)}"
    payload = {"iss": iss, "chain": SOLANA_CHAIN, "scope": "api", "exp": NOW + 60}
    principal = await verifier.verify(independent_ed25519(ed, payload), scope="api")
    assert principal.identity == iss

    evm = EthAccount.create()
    # The reference's own example chain (Base) verifies too, and a lower-case address is one
    # identity with its checksummed spelling.
    lower = f"eip155:8453:{evm.address.lower()}"
    payload = {"iss": lower, "chain": "eip155:8453", "scope": "api", "budget": 1000000}
    principal = await verifier.verify(independent_eip191(evm.key, payload), scope="api")
    assert principal.identity == f"eip155:8453:{evm.address}"
    assert principal.claims.budget == 1000000 and principal.claims.exp is None


@pytest.mark.req("AUTH-TOK-2")
def test_absent_claims_are_omitted_not_null(master: WalletKey, mint: Mint) -> None:
    token = mint(master, exp=None)
    payload = json.loads(unb64(token.split(".")[1]))
    assert set(payload) == {"iss", "chain", "scope", "iat", "jti"}
    assert None not in payload.values()


@pytest.mark.req("AUTH-TOK-2")
def test_each_token_gets_a_fresh_jti(master: WalletKey, mint: Mint) -> None:
    jtis = {json.loads(unb64(mint(master).split(".")[1]))["jti"] for _ in range(3)}
    assert len(jtis) == 3
