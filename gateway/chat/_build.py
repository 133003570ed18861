"""Assembling the chat service from settings, the catalog and the upstream connection pool."""

from __future__ import annotations

import httpx

from gateway.chat._service import ChatService
from gateway.chat._spending import SpendGuard
from gateway.core import Catalog
from gateway.providers import remote_settings, remote_upstreams, resolve_endpoints, upstreams
from gateway.quotes import MemoryQuoteStore, QuoteService, QuoteStore
from gateway.routing import HealthBoard, Router, with_configured_models
from gateway.settings import Settings

__all__ = ["build_chat_service", "build_router"]


def build_router(settings: Settings, catalog: Catalog, simulator_url: str | None = None) -> Router:
    """A router over ``catalog`` plus the models settings declare, with fresh health."""
    catalog = with_configured_models(catalog, settings)
    endpoints = resolve_endpoints(catalog, settings, simulator_url)
    breaker = settings.routing.breaker
    health = HealthBoard(breaker.failure_threshold, breaker.cooldown_seconds)
    return Router(catalog, settings, endpoints, health)


def build_chat_service(
    settings: Settings,
    catalog: Catalog,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    spend: SpendGuard,
    simulator_url: str | None = None,
    quote_store: QuoteStore | None = None,
    client: httpx.AsyncBaseTransport | None = None,
) -> ChatService:
    """The chat service of one gateway process.

    Args:
        transport: the process's upstream connection pool
            (:func:`gateway.providers.create_upstream_transport`; a MockTransport in tests).
        spend: the ledger's spending guard (or :class:`MemorySpendGuard`).
        simulator_url: base URL of the running provider simulator, if one runs.
        quote_store: where quotes live (in memory by default).
        client: the former name of ``transport`` (kept until the runtime passes ``transport``).
    """
    pool = transport if transport is not None else client
    if pool is None:
        raise TypeError("build_chat_service needs transport=")
    router = build_router(settings, catalog, simulator_url)
    quotes = QuoteService(router, quote_store or MemoryQuoteStore(), settings.quotes.ttl_seconds)
    # Default mode: calls go to the operator, each signed by the local agent key.
    remote = remote_settings(settings)
    families = upstreams(pool) if remote is None else remote_upstreams(settings, remote, pool)
    return ChatService(router, families, spend, quotes, max_attempts=settings.routing.max_attempts)
