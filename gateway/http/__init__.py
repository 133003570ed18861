"""The HTTP face: the quart-trio app and how it is served."""

from gateway.http._app import create_app
from gateway.http._server import serve
from gateway.http._workers import serve_workers

__all__ = ["create_app", "serve", "serve_workers"]
