"""The composition root: everything a running gateway is made of, built from one Settings.

Faces (HTTP routes, ``/mcp``, ``/acp``, the in-process API) receive a :class:`Runtime` and call
its services; nothing else builds services or reads the environment.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import trio

from gateway.catalog import load_catalog
from gateway.core import Catalog
from gateway.metrics import Metrics
from gateway.settings import Settings

__all__ = ["Runtime", "open_runtime"]


@dataclass
class Runtime:
    """The services of one gateway process."""

    settings: Settings
    catalog: Catalog
    metrics: Metrics
    nursery: trio.Nursery
    simulator_url: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def simulated(self) -> bool:
        """True when some provider is served by the built-in simulator."""
        return self.simulator_url is not None


@contextlib.asynccontextmanager
async def open_runtime(
    settings: Settings, nursery: trio.Nursery, metrics: Metrics
) -> AsyncIterator[Runtime]:
    """Build the runtime, start its background work in ``nursery``, close it on exit."""
    catalog = load_catalog()
    runtime = Runtime(settings=settings, catalog=catalog, metrics=metrics, nursery=nursery)
    yield runtime
