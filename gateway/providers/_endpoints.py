"""Which providers can be called, where, with which key — and which the simulator serves.

Resolved once per process from the catalog, the settings and the captured environment. A
provider is routable when it has a key (``providers.<id>.api_key``, else the catalog's
environment variable), when it is a configured keyless server (an ``api_base`` in settings and
no key variable, e.g. Ollama), or when the simulator serves it: simulator mode ``on`` serves
every provider, ``auto`` every provider without credentials, ``off`` none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from gateway.core import Catalog, ProviderEntry
from gateway.core.catalog import Protocol as WireFamily
from gateway.providers._anthropic import anthropic_headers
from gateway.providers._gemini import gemini_headers
from gateway.providers._openai import openai_headers
from gateway.providers._remote import REMOTE_PROVIDER, remote_endpoint, remote_settings
from gateway.providers._types import Endpoint
from gateway.settings import ProviderSettings, Settings

__all__ = ["SIMULATED_KEY", "Endpoints", "ProviderStatus", "resolve_endpoints"]

SIMULATED_KEY = "sk-simulated"  # a placeholder: the simulator checks that a key is present
_HEADERS: Mapping[WireFamily, Callable[[str | None], dict[str, str]]] = {
    "openai": openai_headers,
    "anthropic": anthropic_headers,
    "google": gemini_headers,
}


@dataclass(frozen=True, slots=True)
class ProviderStatus:
    """Whether a provider can be called, whether it is simulated, and why (for listings)."""

    routable: bool
    simulated: bool
    note: str


class Endpoints:
    """Every routable provider's endpoint, and a status line for every known provider."""

    def __init__(self, endpoints: dict[str, Endpoint], statuses: dict[str, ProviderStatus]):
        self._endpoints = endpoints
        self._statuses = statuses

    def get(self, provider: str) -> Endpoint | None:
        """The endpoint of a routable provider."""
        return self._endpoints.get(provider)

    def status(self, provider: str) -> ProviderStatus:
        """Why a provider is or is not routable."""
        return self._statuses.get(provider) or ProviderStatus(False, False, "unknown provider")

    def __iter__(self) -> Iterator[Endpoint]:
        return iter(self._endpoints.values())

    def __len__(self) -> int:
        return len(self._endpoints)


def _key(entry: ProviderEntry, config: ProviderSettings | None, settings: Settings) -> str | None:
    if config is not None and config.api_key is not None:
        return config.api_key.get_secret_value() or None
    if entry.env_var:
        secret = settings.environment.get(entry.env_var)
        return secret.get_secret_value() if secret is not None else None
    return None


def _base(entry: ProviderEntry, config: ProviderSettings | None, settings: Settings) -> str:
    if config is not None and config.api_base:
        return config.api_base.rstrip("/")
    if entry.env_var and entry.env_var.endswith("_API_KEY"):
        prefix = entry.env_var[: -len("_API_KEY")]
        for suffix in ("_BASE_URL", "_API_BASE"):
            override = settings.environment.get(prefix + suffix)
            if override is not None:
                return override.get_secret_value().rstrip("/")
    return entry.api_base.rstrip("/")


def _configured_entries(catalog: Catalog, settings: Settings) -> Iterator[ProviderEntry]:
    yield from catalog.providers.values()
    for pid, config in settings.providers.items():
        if pid not in catalog.providers and config.api_base:
            yield ProviderEntry(pid, pid, config.protocol or "openai", config.api_base, None)


def _remote_endpoints(catalog: Catalog, settings: Settings) -> Endpoints | None:
    # Default mode: one provider, the operator; the catalog's own providers are not called.
    remote = remote_settings(settings)
    if remote is None:
        return None
    statuses = {
        pid: ProviderStatus(False, False, f"default mode: models go through {remote.url}")
        for pid in catalog.providers
    }
    statuses[REMOTE_PROVIDER] = ProviderStatus(True, False, f"served by the operator {remote.url}")
    return Endpoints({REMOTE_PROVIDER: remote_endpoint(settings, remote)}, statuses)


def resolve_endpoints(
    catalog: Catalog, settings: Settings, simulator_url: str | None = None
) -> Endpoints:
    """The endpoints of every routable provider (``simulator_url``: the running simulator).

    In default mode (``mode: default`` with a ``remote``) the only one is the operator.
    """
    remote = _remote_endpoints(catalog, settings)
    if remote is not None:
        return remote
    mode = settings.simulator.mode if simulator_url else "off"
    routing = settings.routing
    endpoints: dict[str, Endpoint] = {}
    statuses: dict[str, ProviderStatus] = {}
    for entry in _configured_entries(catalog, settings):
        config = settings.providers.get(entry.id)
        if config is not None and not config.enabled:
            statuses[entry.id] = ProviderStatus(False, False, "disabled in settings")
            continue
        protocol: WireFamily = (config.protocol if config else None) or entry.protocol
        key = _key(entry, config, settings)
        keyless = entry.env_var is None and config is not None and bool(config.api_base)
        credentialed = key is not None or keyless
        simulated = mode == "on" or (mode == "auto" and not credentialed)
        if simulated:
            assert simulator_url is not None
            suffix = "/v1beta" if protocol == "google" else "/v1"
            base, key = f"{simulator_url.rstrip('/')}/p/{entry.id}{suffix}", SIMULATED_KEY
            note = "served by the simulator"
        elif credentialed:
            base, note = _base(entry, config, settings), "ready"
        else:
            need = f"set {entry.env_var}" if entry.env_var else "configure an api_key"
            statuses[entry.id] = ProviderStatus(False, False, f"no credentials ({need})")
            continue
        headers = _HEADERS[protocol](key)
        if config is not None:
            headers.update(config.headers)
        endpoints[entry.id] = Endpoint(
            provider=entry.id,
            protocol=protocol,
            base_url=base,
            headers=headers,
            simulated=simulated,
            connect_timeout=routing.connect_timeout_seconds,
            first_byte_timeout=routing.first_byte_timeout_seconds,
            timeout=config.timeout_seconds if config is not None else 120.0,
        )
        statuses[entry.id] = ProviderStatus(True, simulated, note)
    return Endpoints(endpoints, statuses)
