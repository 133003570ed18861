"""The one upstream connection pool a gateway process uses for every provider call.

It is the gateway's own pooled HTTP/1.1 client (:class:`WirePool`, see ``_wire_client``): the
httpx transport it replaced cost about 1 ms of CPU per call over loopback, most of the
gateway's own work on a call. Proxies and certificates never come from the environment.
"""

from __future__ import annotations

from gateway.providers._wire_client import WirePool
from gateway.settings import Settings

__all__ = ["create_http_client", "create_upstream_transport"]


def create_upstream_transport(settings: Settings) -> WirePool:
    """A keep-alive HTTP/1.1 connection pool for upstreams; close it with the app
    (``async with transport:``). Timeouts are per call (per provider), so ``settings`` has
    nothing for the pool yet. Sized for 64+ concurrent calls with room for long streams."""
    return WirePool(max_connections=512, max_idle_per_origin=128, keepalive_expiry=60.0)


create_http_client = create_upstream_transport
"""The former name of :func:`create_upstream_transport` (kept until the runtime is switched)."""
