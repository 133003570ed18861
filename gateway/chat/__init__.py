"""Chat completions: planning, reserving, calling with failover, metering and charging."""

from gateway.chat._build import build_chat_service, build_router
from gateway.chat._plan import CallPlan
from gateway.chat._principal import ChatPrincipal
from gateway.chat._service import ChatService
from gateway.chat._spending import Hold, MemoryHold, MemorySpendGuard, SpendGuard, UsageRecord
from gateway.chat._stream import ChatStream

__all__ = [
    "CallPlan",
    "ChatPrincipal",
    "ChatService",
    "ChatStream",
    "Hold",
    "MemoryHold",
    "MemorySpendGuard",
    "SpendGuard",
    "UsageRecord",
    "build_chat_service",
    "build_router",
]
