"""Failpoints: named places where a test can stop the gateway on purpose (fault injection).

A failpoint marks a window that matters for crash safety, e.g. ``settlement.after_pay``: the
payment is on-chain and the ledger does not know it yet. A test arms it, waits until the gateway
reports reaching it, then kills the process (SIGKILL) exactly there and checks what a restart
makes of it. Unarmed — always, outside such tests — reaching one is a single dict look-up.

Failpoints are armed only through the environment variable ``BITROUTER_FAILPOINTS`` of the
process (not ``bitrouter.yaml``, not the home's ``.env``), which ``gateway/settings`` captures
into ``Settings.failpoints`` when the settings are read (nothing else reads the environment)::

    BITROUTER_FAILPOINTS=settlement.after_pay=pause bitrouter serve

Its value is ``NAME=ACTION`` items separated by commas; a name not in ``FAILPOINTS`` or an
unknown action is a ``ConfigError``, so a typo is never silently ignored. The one action:

- ``pause``: log ``failpoint NAME: paused`` (a warning, on the gateway's log) and wait forever.
  The wait is cancellable, so the gateway still stops cleanly on SIGTERM.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Literal

import trio

from gateway.errors import ConfigError

__all__ = [
    "ENVIRONMENT_VARIABLE",
    "FAILPOINTS",
    "FailpointAction",
    "Failpoints",
    "parse_failpoints",
]

ENVIRONMENT_VARIABLE = "BITROUTER_FAILPOINTS"
FailpointAction = Literal["pause"]
_ACTIONS: Mapping[str, FailpointAction] = {"pause": "pause"}

# Every failpoint of the gateway and the window it marks.
FAILPOINTS: Mapping[str, str] = {
    "settlement.before_pay": "a settlement is journalled (durable) but its payment is not sent",
    "settlement.after_pay": "a settlement's payment is on-chain but not recorded in the ledger",
}

_log = logging.getLogger("bitrouter.failpoints")


def parse_failpoints(text: str) -> dict[str, FailpointAction]:
    """``NAME=ACTION[,NAME=ACTION…]`` (the value of ``BITROUTER_FAILPOINTS``) as a mapping.

    Raises:
        ConfigError: one line naming the item at fault.
    """
    armed: dict[str, FailpointAction] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, sep, action = (piece.strip() for piece in item.partition("="))
        if name not in FAILPOINTS:
            known = ", ".join(sorted(FAILPOINTS))
            raise ConfigError(
                f"{ENVIRONMENT_VARIABLE}: unknown failpoint {name!r} (known: {known})"
            )
        if not sep or action not in _ACTIONS:
            raise ConfigError(
                f"{ENVIRONMENT_VARIABLE}: {item!r}: expected {name}=ACTION, ACTION one of "
                f"{', '.join(_ACTIONS)}"
            )
        armed[name] = _ACTIONS[action]
    return armed


class Failpoints:
    """The failpoints armed in one process (none by default); see the module docstring."""

    def __init__(self, armed: Mapping[str, FailpointAction] | None = None) -> None:
        self._armed = dict(armed or {})

    @property
    def armed(self) -> dict[str, FailpointAction]:
        """The armed failpoints and their actions."""
        return dict(self._armed)

    async def reach(self, name: str) -> None:
        """Act on failpoint ``name`` if it is armed; return at once otherwise."""
        if self._armed.get(name) is None:
            return
        _log.warning("failpoint %s: paused", name)
        await trio.sleep_forever()
