"""How a simulator instance behaves when a request does not say otherwise."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["SimulatorConfig"]


class SimulatorConfig(BaseModel):
    """Timing and reply defaults of one simulator (each request can override them)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ttft_ms: Annotated[int, Field(ge=0, le=60_000)] = 0
    """Delay before the response starts (status line and headers)."""
    chunk_delay_ms: Annotated[int, Field(ge=0, le=10_000)] = 0
    """Delay between two events of a stream."""
    default_reply_tokens: Annotated[int, Field(ge=1, le=32_768)] = 24
    """Reply length in tokens when neither the request's limit nor a marker is smaller."""
    seed: int = 0
    """Mixed into every reply's hash: another seed gives other (still deterministic) words."""
    timeout_fault_seconds: Annotated[float, Field(gt=0, le=600)] = 60.0
    """How long a ``timeout`` fault holds a request before answering it after all."""
