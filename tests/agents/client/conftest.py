"""A gateway served from a thread, shared by the client tests of a module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gateway import Gateway

MODEL = "moonshotai:kimi-k2.5"


@pytest.fixture(scope="module")
def gw() -> Iterator[Gateway]:
    """A running gateway on the provider simulator, with a temporary home and master key."""
    with Gateway(simulator=True) as gateway:
        yield gateway
