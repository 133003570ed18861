"""Reading the gateway over HTTP: one snapshot of every route the dashboard shows.

Each route is fetched on its own; one that fails (not there yet, refused, unreachable) leaves
its part empty with a one-line reason, and the rest of the dashboard still shows.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from gateway.dashboard._wire import Balance, Health, Summary, Transactions, UsagePage

__all__ = ["GatewayReader", "Snapshot", "TokenSource"]

TokenSource = Callable[[], str | None]
M = TypeVar("M", bound=BaseModel)
_TOKEN_REFRESH_SECONDS = 600.0  # tokens are minted for an hour and replaced well before


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the gateway said at ``fetched_at``; ``errors`` names the parts it could not give."""

    url: str
    fetched_at: float
    health: Health | None = None
    balance: Balance | None = None
    usage: UsagePage | None = None
    summary: Summary | None = None
    transactions: Transactions | None = None
    errors: dict[str, str] = field(default_factory=dict)


class GatewayReader:
    """Fetches snapshots from the gateway at ``url`` with tokens from ``token_source``."""

    def __init__(
        self,
        url: str,
        token_source: TokenSource,
        *,
        usage_limit: int = 50,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._token_source = token_source
        self._usage_limit = usage_limit
        self._transport = transport
        self._token: tuple[float, str | None] | None = None

    def _bearer(self) -> dict[str, str]:
        now = time.monotonic()
        if self._token is None or now - self._token[0] > _TOKEN_REFRESH_SECONDS:
            self._token = (now, self._token_source())
        token = self._token[1]
        return {"authorization": f"Bearer {token}"} if token else {}

    async def snapshot(self) -> Snapshot:
        """Every part the gateway gives now."""
        errors: dict[str, str] = {}
        headers = self._bearer()
        async with httpx.AsyncClient(
            base_url=self.url, timeout=5.0, trust_env=False, transport=self._transport
        ) as client:

            async def get(name: str, path: str, model: type[M], auth: bool = True) -> M | None:
                try:
                    response = await client.get(path, headers=headers if auth else None)
                except httpx.HTTPError:
                    errors[name] = f"cannot reach {self.url}"
                    return None
                if response.status_code != 200:
                    errors[name] = _reason(response)
                    return None
                try:
                    return model.model_validate_json(response.content)
                except ValidationError:
                    errors[name] = f"unexpected answer from {path}"
                    return None

            limit = self._usage_limit
            health, balance, usage, summary, transactions = await asyncio.gather(
                get("health", "/health", Health, auth=False),
                get("balance", "/v1/balance", Balance),
                get("usage", f"/v1/usage?limit={limit}", UsagePage),
                get("summary", "/v1/usage/summary?group_by=model", Summary),
                get("transactions", "/v1/transactions", Transactions),
            )
        if not headers:
            errors.setdefault(
                "token", "no master key in this home (bitrouter account --generate-key)"
            )
        return Snapshot(
            self.url, time.time(), health, balance, usage, summary, transactions, errors
        )


def _reason(response: httpx.Response) -> str:
    try:
        error = response.json().get("error", {})
        message = error.get("message") if isinstance(error, dict) else None
    except (ValueError, AttributeError):
        message = None
    if response.status_code == 404 and not message:
        return "not available on this gateway (HTTP 404)"
    return f"HTTP {response.status_code}: {message or response.reason_phrase}"
