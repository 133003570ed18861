"""BitRouter: a gateway for AI agents — LLM chat completions, MCP tools and ACP agents behind
one wallet-signed token and on-chain spending caps."""

__version__ = "0.1.0"

__all__ = ["__version__"]
