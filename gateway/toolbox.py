"""The gateway's own services as tools (``chat``, ``quote``, ``list_models``, ``balance``) for
the MCP face, so an MCP client reaches the router and its money through the same token."""

from __future__ import annotations

import secrets
from typing import Any

from gateway.chat import ChatService
from gateway.core import Catalog
from gateway.identity import Principal
from gateway.metering import LedgerSpendGuard, WalletLookup, balance_view
from gateway.openai_wire import parse_chat_request

__all__ = ["GatewayToolbox"]


class GatewayToolbox:
    """Chat, quotes, the model list and the balance, over the runtime's services."""

    def __init__(
        self,
        chat: ChatService,
        catalog: Catalog,
        spend: LedgerSpendGuard,
        wallets: WalletLookup | None = None,
    ) -> None:
        self._chat = chat
        self._catalog = catalog
        self._spend = spend
        self._wallets = wallets

    async def chat(self, principal: Principal, request: dict[str, Any]) -> dict[str, Any]:
        """One chat completion through the router, charged like any model call."""
        body = parse_chat_request({**request, "stream": False})
        rid = "mcp_" + secrets.token_hex(8)
        return await self._chat.complete(principal, body, request_id=rid)

    async def quote(self, principal: Principal, request: dict[str, Any]) -> dict[str, Any]:
        """A binding quote for a chat request."""
        made = await self._chat.quote(principal, parse_chat_request(request))
        return made.to_dict()

    async def list_models(self) -> list[dict[str, Any]]:
        """Routable models with their cheapest routable price (µUSD per 1M tokens)."""
        out = []
        for model in self._catalog:
            prices = [
                o.prices for o in model.offers if self._chat.provider_status(o.provider).routable
            ]
            if prices:
                cheapest = min(prices, key=lambda p: p.input + p.output)
                out.append(
                    {
                        "id": model.id,
                        "name": model.name,
                        "providers": len(prices),
                        "prices_micro_usd_per_mtok": cheapest.to_dict(),
                    }
                )
        return out

    async def balance(self, principal: Principal) -> dict[str, Any]:
        """The caller's limits, spent, reserved and remaining."""
        return await balance_view(self._spend, principal, None, self._wallets)
