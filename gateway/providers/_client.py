"""The one pooled upstream connection pool a gateway process uses for every provider call.

Upstream calls go straight to an httpx transport (the connection pool) rather than through an
``httpx.AsyncClient``: the client layer (cookie jar, URL and header merging, redirects, auth
hooks) cost about 190 µs of CPU a call here, none of which a proxy needs — and a shared cookie
jar would carry one caller's upstream cookies into another's calls.
"""

from __future__ import annotations

import httpx

from gateway.settings import Settings

__all__ = ["create_http_client", "create_upstream_transport"]

# Sized for 64+ concurrent calls with room for streams that stay open a long time.
_LIMITS = httpx.Limits(max_connections=512, max_keepalive_connections=128, keepalive_expiry=60.0)


def create_upstream_transport(settings: Settings) -> httpx.AsyncHTTPTransport:
    """A keep-alive HTTP/1.1 connection pool for upstreams; close it with the app
    (``async with transport:``). Proxies and certificates never come from the environment;
    timeouts are per call (per provider), so ``settings`` has nothing for the pool yet."""
    return httpx.AsyncHTTPTransport(
        limits=_LIMITS, http1=True, http2=False, retries=0, trust_env=False
    )


create_http_client = create_upstream_transport
"""The former name of :func:`create_upstream_transport` (kept until the runtime is switched)."""
