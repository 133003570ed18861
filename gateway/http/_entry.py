"""The app as an import path, for hypercorn worker processes (``bitrouter serve --workers N``).

Each worker process loads the settings of ``$BITROUTER_HOME`` (set by the parent command).
"""

from gateway.http._app import create_app
from gateway.settings import load_settings

__all__ = ["app"]

app = create_app(load_settings())
