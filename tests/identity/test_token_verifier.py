from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from gateway.errors import AuthError, BadRequest, Forbidden
from gateway.identity import (
    Keystore,
    MemoryRevocationStore,
    Verifier,
    WalletKey,
    bearer_token,
    revocation_key,
    token_hash,
)

Mint = Callable[..., str]
MakeVerifier = Callable[..., tuple[Verifier, MemoryRevocationStore]]
NOW = 1_750_000_000


@pytest.mark.req("AUTH-VER-3")
async def test_scope_must_match_the_route(
    master: WalletKey, mint: Mint, make_verifier: MakeVerifier
) -> None:
    verifier, _ = make_verifier()
    api, admin = mint(master), mint(master, scope="admin")
    assert (await verifier.verify(api, scope="api")).scope == "api"
    assert (await verifier.verify(admin, scope="admin")).scope == "admin"
    with pytest.raises(Forbidden, match="scope 'api' cannot be used for management") as info:
        await verifier.verify(api, scope="admin")
    assert info.value.status == 403 and info.value.code == "wrong_scope"
    with pytest.raises(Forbidden, match="scope 'admin' cannot be used for model"):
        await verifier.verify(admin, scope="api")


@pytest.mark.req("AUTH-VER-3")
async def test_admin_tokens_only_from_the_master_key(
    keystore: Keystore, mint: Mint, make_verifier: MakeVerifier
) -> None:
    agent = keystore.create_agent("bot")
    verifier, _ = make_verifier(policy="open")
    with pytest.raises(Forbidden, match="only from this gateway's master key"):
        await verifier.verify(mint(agent, scope="admin"), scope="admin")
    stranger = WalletKey(b"\x07" * 32)
    with pytest.raises(Forbidden, match="only from this gateway's master key"):
        await verifier.verify(mint(stranger, "evm", scope="admin"), scope="admin")
    assert (await verifier.verify(mint(agent), scope="api")).address == agent.solana_address


@pytest.mark.req("AUTH-VER-4")
async def test_models_allowlist(master: WalletKey, mint: Mint, make_verifier: MakeVerifier) -> None:
    verifier, _ = make_verifier()
    p = await verifier.verify(mint(master, models=["openai/*", "anthropic:claude-*"]), scope="api")
    for allowed in (
        "openai/gpt-4o",
        "openai:gpt-4o-mini",
        "anthropic:claude-sonnet-4",
        "anthropic/claude-3-5-haiku",
        "OpenAI/GPT-4o",
    ):
        verifier.check_model(p, allowed)
    for refused in ("moonshotai:kimi-k2.5", "anthropic:opus", "openai-compat/gpt-4o", "openai"):
        with pytest.raises(Forbidden, match="not allowed by this token's 'models'") as info:
            verifier.check_model(p, refused)
        assert info.value.status == 403 and info.value.code == "model_not_allowed"
    star = await verifier.verify(mint(master, models=["*"]), scope="api")
    unlimited = await verifier.verify(mint(master), scope="api")
    nothing = await verifier.verify(mint(master, models=[]), scope="api")
    for model in ("moonshotai:kimi-k2.5", "meta-llama/llama-3.1-8b:free"):
        verifier.check_model(star, model)
        verifier.check_model(unlimited, model)
        with pytest.raises(Forbidden):
            verifier.check_model(nothing, model)


@pytest.mark.req("AUTH-VER-4")
async def test_tools_allowlist(master: WalletKey, mint: Mint, make_verifier: MakeVerifier) -> None:
    verifier, _ = make_verifier()
    p = await verifier.verify(mint(master, tools=["files__read_*", "search__query"]), scope="api")
    verifier.check_tool(p, "files__read_text")
    verifier.check_tool(p, "search__query")
    for refused in ("files__write", "search__query2", "Files__read_text"):
        with pytest.raises(Forbidden, match="not allowed by this token's 'tools' claim"):
            verifier.check_tool(p, refused)
    verifier.check_tool(await verifier.verify(mint(master), scope="api"), "anything")


@pytest.mark.req("AUTH-VER-5")
async def test_revoked_token_is_refused_at_once_by_every_process(
    master: WalletKey, mint: Mint, make_verifier: MakeVerifier
) -> None:
    shared = MemoryRevocationStore()  # stands for the ledger database both processes share
    one, _ = make_verifier(store=shared)
    two, _ = make_verifier(store=shared)
    token, other = mint(master), mint(master)
    principal = await one.verify(token, scope="api")
    await two.verify(token, scope="api")  # now cached in both
    await shared.revoke(principal.revocation_key, issuer=principal.identity, reason="leaked")
    for verifier in (one, two):
        with pytest.raises(AuthError, match="revoked") as info:
            await verifier.verify(token, scope="api")
        assert info.value.status == 401 and info.value.code == "token_revoked"
        with pytest.raises(AuthError, match="revoked"):
            await verifier.verify(token, scope="admin")  # 401 before any scope check
        assert (await verifier.verify(other, scope="api")).identity == principal.identity


@pytest.mark.req("AUTH-VER-5")
async def test_token_without_jti_is_revoked_by_hash(
    master: WalletKey, make_verifier: MakeVerifier
) -> None:
    from gateway.identity import Claims, TokenCodec

    claims = Claims(iss=master.caip10("evm"), chain="eip155:4217", scope="api")
    token = TokenCodec().sign(claims, master)
    verifier, store = make_verifier()
    principal = await verifier.verify(token, scope="api")
    assert principal.revocation_key == f"sha256:{token_hash(token)}"
    await store.revoke(revocation_key(token_hash=token_hash(token)), issuer="x", reason="test")
    with pytest.raises(AuthError, match="revoked"):
        await verifier.verify(token, scope="api")


def test_revocation_keys_are_validated() -> None:
    assert revocation_key(jti="abc") == "jti:abc"
    with pytest.raises(BadRequest, match="exactly one"):
        revocation_key()
    with pytest.raises(BadRequest, match="64 lowercase hex") as info:
        revocation_key(token_hash="ABC")
    assert info.value.param == "token_hash"


@pytest.mark.req("AUTH-VER-6")
async def test_cache_never_serves_an_expired_token(
    master: WalletKey, mint: Mint, make_verifier: MakeVerifier, clock: Any
) -> None:
    verifier, _ = make_verifier()
    token = mint(master, exp=NOW + 10)
    await verifier.verify(token, scope="api")
    assert verifier.cached_tokens == 1
    clock.t = NOW + 9.999
    await verifier.verify(token, scope="api")
    clock.t = NOW + 10
    with pytest.raises(AuthError, match="expired") as info:
        await verifier.verify(token, scope="api")
    assert info.value.code == "token_expired" and verifier.cached_tokens == 0


@pytest.mark.req("AUTH-VER-6")
async def test_cache_is_bounded(master: WalletKey, mint: Mint, make_verifier: MakeVerifier) -> None:
    verifier, _ = make_verifier(cache=2)
    tokens = [mint(master) for _ in range(5)]
    for token in tokens:
        await verifier.verify(token, scope="api")
    assert verifier.cached_tokens == 2
    disabled, _ = make_verifier(cache=0)
    await disabled.verify(tokens[0], scope="api")
    assert disabled.cached_tokens == 0


async def _best_of(verifier: Verifier, tokens: list[str], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for token in tokens:
            await verifier.verify(token, scope="api")
        best = min(best, (time.perf_counter() - start) / len(tokens))
    return best * 1e6


@pytest.mark.req("AUTH-VER-6")
@pytest.mark.parametrize("family", ["solana", "evm"])
async def test_cache_saves_the_signature_check_on_the_hot_path(
    family: Any, master: WalletKey, mint: Mint, make_verifier: MakeVerifier
) -> None:
    tokens = [mint(master, family, models=["openai/*"]) for _ in range(50)]
    cold, _ = make_verifier(cache=0)
    cached, _ = make_verifier()
    for token in tokens:
        await cached.verify(token, scope="api")
    cold_us = await _best_of(cold, tokens, 3)
    cached_us = await _best_of(cached, tokens, 3)
    print(f"\n{family}: verify cold {cold_us:.1f} µs, cached {cached_us:.1f} µs")
    assert cached_us * 3 < cold_us


def test_bearer_header() -> None:
    assert bearer_token("Bearer abc.def.ghi") == "abc.def.ghi"
    assert bearer_token("bearer  abc ") == "abc"
    for bad in (None, "", "Basic abc", "Bearer", "Bearer   "):
        with pytest.raises(AuthError, match="Bearer") as info:
            bearer_token(bad)
        assert info.value.status == 401
