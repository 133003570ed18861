"""A separate gateway process for the ledger tests: ``python ledger_worker.py COMMAND ARGS…``.

Each argument is JSON. The result is printed as one JSON line. ``*_and_die`` commands leave
with ``os._exit`` right after their work, skipping every cleanup, as a crashed process would.
"""

from __future__ import annotations

import json
import os
import random
import sys
from typing import Any

import trio

from gateway.core.money import TokenCounts
from gateway.errors import GatewayError, RateLimited, SpendingError
from gateway.ledger import (
    BudgetRange,
    CallUsage,
    Principal,
    Reservation,
    ReserveRequest,
    TokenLimits,
    open_ledger,
)
from gateway.settings._schema import LimitsSettings


def _principal(spec: dict[str, Any]) -> Principal:
    window = spec.get("range")
    limits = TokenLimits(
        spec.get("budget"),
        spec.get("scope", "session"),
        BudgetRange.parse(window) if window else None,
        spec.get("iat"),
    )
    return Principal(spec["identity"], "k", limits, spec.get("authority"))


async def race(url: str, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run the jobs at once; each: ``n`` concurrent reservations of ``amount`` for the
    principal ``spec``, then a charge of each granted one (``full``, or a ``random`` cost)."""
    results: list[dict[str, Any]] = [{} for _ in jobs]
    async with open_ledger(url, recover=False, connections=4) as ledger:

        async def job(index: int, spec: dict[str, Any], n: int, amount: int, charge: str) -> None:
            principal = _principal(spec)
            granted: list[Reservation] = []
            codes: dict[str, int] = {}
            others: list[str] = []

            async def one() -> None:
                try:
                    granted.append(await ledger.reserve(ReserveRequest(principal, amount)))
                except SpendingError as exc:
                    codes[exc.code] = codes.get(exc.code, 0) + 1
                except GatewayError as exc:
                    others.append(f"{type(exc).__name__}: {exc.message}")

            async with trio.open_nursery() as nursery:
                for _ in range(n):
                    nursery.start_soon(one)
            charged = 0
            async with trio.open_nursery() as nursery:
                for reservation in granted:
                    cost = amount if charge == "full" else random.randint(0, amount + 10)
                    charged += min(cost, amount)
                    nursery.start_soon(ledger.charge, reservation, cost, CallUsage("p"))
            results[index] = {
                "granted": len(granted),
                "codes": codes,
                "others": others,
                "charged": charged,
            }

        async with trio.open_nursery() as nursery:
            for index, spec in enumerate(jobs):
                nursery.start_soon(
                    job, index, spec["spec"], spec["n"], spec["amount"], spec["charge"]
                )
    return results


async def rate(url: str, identity: str, n: int, rpm: int, at: float) -> dict[str, Any]:
    """``n`` reservations at one fixed moment ``at`` under ``rpm`` requests per minute."""
    granted, limited = 0, 0
    limits = LimitsSettings(requests_per_minute=rpm)
    async with open_ledger(url, clock=lambda: at, limits=limits, recover=False) as ledger:
        for _ in range(n):
            try:
                await ledger.reserve(ReserveRequest(Principal(identity), 0))
                granted += 1
            except RateLimited:
                limited += 1
    return {"granted": granted, "limited": limited}


async def hold_and_die(url: str, identity: str, amount: int, at: float) -> None:
    """Reserve at time ``at``, then die without charging or releasing."""
    async with open_ledger(url, clock=lambda: at, recover=False) as ledger:
        reservation = await ledger.reserve(ReserveRequest(Principal(identity), amount))
        print(json.dumps({"id": reservation.id}), flush=True)
        os._exit(0)


async def charge_and_die(url: str, identity: str, amount: int, cost: int) -> None:
    """Reserve and charge, then die at once: the charge must already be on disk."""
    async with open_ledger(url, recover=False) as ledger:
        reservation = await ledger.reserve(ReserveRequest(Principal(identity), amount))
        await ledger.charge(reservation, cost, CallUsage("p", TokenCounts(1, 2)))
        print(json.dumps({"id": reservation.id}), flush=True)
        os._exit(0)


async def revoke(url: str, key: str) -> dict[str, Any]:
    """Revoke a token key."""
    async with open_ledger(url, recover=False) as ledger:
        await ledger.revoke(key, issuer="solana:test:issuer", reason="test")
        return {"revoked": key}


async def open_only(url: str) -> dict[str, Any]:
    """Open (and so migrate) the ledger."""
    async with open_ledger(url, recover=False) as ledger:
        return {"backend": ledger.backend, "ok": (await ledger.check()).ok}


COMMANDS = {
    "race": race,
    "rate": rate,
    "hold_and_die": hold_and_die,
    "charge_and_die": charge_and_die,
    "revoke": revoke,
    "open": open_only,
}

if __name__ == "__main__":
    command, *raw = sys.argv[1:]
    result = trio.run(COMMANDS[json.loads(command)], *(json.loads(a) for a in raw))
    print(json.dumps(result), flush=True)
