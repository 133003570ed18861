"""Where a request finds the runtime of its app."""

from __future__ import annotations

from quart import current_app

from gateway.runtime import Runtime

__all__ = ["runtime"]


def runtime() -> Runtime:
    """The runtime of the app serving the current request."""
    rt: Runtime = current_app.extensions["bitrouter"]
    return rt
