"""A prompt turn's money: reserved at ``session/prompt``, charged or released when it ends.

The rule: a turn the agent answers with a stop reason other than ``cancelled`` is charged the
agent's price per turn; a turn that is cancelled, fails, or ends because its agent exited, hung
or its client went away is released. (Its model and tool calls are charged on their own, as
they happen, so the caller pays for what was used either way.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import trio
from pydantic import ValidationError

from gateway.acp._jsonrpc import INTERNAL_ERROR, JsonObject, RpcError
from gateway.acp._peer import PeerGone

__all__ = ["COST_META", "Turn", "TurnOutcome", "judge"]

COST_META = "bitrouter/cost_micro_usd"


@dataclass
class Turn:
    """One running ``session/prompt``."""

    client_request_id: Any
    request_id: str
    number: int
    hold: Any
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)
    cancel_requested: bool = False


@dataclass(frozen=True)
class TurnOutcome:
    """How a turn ended: what the client is told, and whether the price is charged."""

    result: JsonObject | None
    error: RpcError | None
    charge: bool
    outcome: str
    stop_reason: str | None = None


def judge(
    result: Any = None, error: Exception | None = None, *, forced: bool = False
) -> TurnOutcome:
    """The outcome of a turn from the agent's answer (``result`` or ``error``), or ``forced``
    when the gateway ended it because the agent did not stop after ``session/cancel``."""
    if forced:
        return TurnOutcome({"stopReason": "cancelled"}, None, False, "cancel_timeout", "cancelled")
    if isinstance(error, PeerGone):
        message = f"{error.reason}; the turn was not charged"
        return TurnOutcome(None, RpcError(INTERNAL_ERROR, message), False, "agent_gone")
    if isinstance(error, RpcError):
        return TurnOutcome(None, error, False, "agent_error")
    from acp.schema import PromptResponse  # the ACP SDK loads at first use

    try:
        stop = PromptResponse.model_validate(result).stop_reason
    except ValidationError:
        wrong = RpcError(INTERNAL_ERROR, "the agent answered session/prompt with an invalid result")
        return TurnOutcome(None, wrong, False, "agent_error")
    assert isinstance(result, dict)
    if stop == "cancelled":
        return TurnOutcome(result, None, False, "cancelled", stop)
    return TurnOutcome(result, None, True, "ok", stop)
