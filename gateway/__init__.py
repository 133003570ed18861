"""BitRouter: a gateway for AI agents — LLM chat completions, MCP tools and ACP agents behind
one wallet-signed token and on-chain spending caps."""

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from gateway.inprocess import Gateway

__all__ = ["Gateway", "__version__"]


def __getattr__(name: str) -> Any:
    # ``Gateway`` pulls in the whole server; load it only when someone asks for it.
    if name == "Gateway":
        from gateway.inprocess import Gateway

        return Gateway
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
