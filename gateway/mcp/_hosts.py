"""Which ``Host`` and ``Origin`` headers ``/mcp`` accepts (the SDK's DNS-rebinding guard).

Loopback names, the listen address and the operator's ``server.allowed_hosts`` are accepted,
with or without a port; ``"*"`` in ``allowed_hosts`` turns the check off (behind a proxy that
already checks). Anything else is refused with 421, which is why a gateway behind a real
hostname must list it.
"""

from __future__ import annotations

from mcp.server.transport_security import TransportSecuritySettings

from gateway.settings import ServerSettings

__all__ = ["transport_security"]

_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
_WILDCARD_ADDRESSES = ("", "0.0.0.0", "::")


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def transport_security(server: ServerSettings) -> TransportSecuritySettings:
    """The SDK's host/origin settings for this server's listen address and allowed hosts."""
    if "*" in server.allowed_hosts:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    hosts = list(_LOOPBACK)
    if server.host not in _WILDCARD_ADDRESSES:
        hosts.append(_bracketed(server.host))
    hosts += [_bracketed(h) for h in server.allowed_hosts]
    hosts = list(dict.fromkeys(hosts))
    allowed_hosts = hosts + [f"{h}:*" for h in hosts]
    allowed_origins = [
        f"{scheme}://{h}{port}"
        for scheme in ("http", "https")
        for h in hosts
        for port in ("", ":*")
    ]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=allowed_hosts,
        allowed_origins=allowed_origins,
    )
