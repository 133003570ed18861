"""Settings: ``bitrouter.yaml`` in the home, parsed once into frozen pydantic models."""

from gateway.settings._home import resolve_home
from gateway.settings._load import load_settings, settings_from_mapping
from gateway.settings._schema import (
    AcpAgentSettings,
    AuthSettings,
    ChainSettings,
    LimitsSettings,
    McpServerSettings,
    ProviderSettings,
    RoutingSettings,
    ServerSettings,
    Settings,
)

__all__ = [
    "AcpAgentSettings",
    "AuthSettings",
    "ChainSettings",
    "LimitsSettings",
    "McpServerSettings",
    "ProviderSettings",
    "RoutingSettings",
    "ServerSettings",
    "Settings",
    "load_settings",
    "resolve_home",
    "settings_from_mapping",
]
