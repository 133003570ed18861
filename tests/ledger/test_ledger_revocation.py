"""Revocations live in the ledger's database, so every process sharing it sees them at once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from gateway.ledger import Ledger, open_ledger

KEY = "jti:0f6d2c1e-revoked"


@pytest.mark.req("SPEND-19")
async def test_revoke_then_is_revoked(ledger: Ledger) -> None:
    assert not await ledger.is_revoked(KEY)
    await ledger.revoke(KEY, issuer="solana:x:owner", reason="leaked")
    await ledger.revoke(KEY, issuer="solana:x:owner", reason="again")  # idempotent
    assert await ledger.is_revoked(KEY)
    assert not await ledger.is_revoked("jti:another")


@pytest.mark.req("SPEND-19")
async def test_another_process_sees_a_revocation_on_its_next_check(
    shared_url: str, worker: Callable[..., Awaitable[Any]]
) -> None:
    async with open_ledger(shared_url) as ledger:
        assert not await ledger.is_revoked(KEY)  # this process has looked before
        await worker("revoke", shared_url, KEY)
        assert await ledger.is_revoked(KEY)


def test_the_ledger_is_the_identity_layers_revocation_store() -> None:
    import inspect

    from gateway.identity import RevocationStore

    for name in ("is_revoked", "revoke"):
        wanted = inspect.signature(getattr(RevocationStore, name))
        assert inspect.signature(getattr(Ledger, name)) == wanted
