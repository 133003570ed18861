"""The BitRouter client: a gateway's chat, quotes, routing, usage, MCP tools and ACP agents
from Python — blocking (:class:`Client`) or async (:class:`AsyncClient`, usable with a
notebook's top-level ``await`` and under trio).

Results are typed objects that render as tables (and small charts) in Jupyter, and turn into
pandas data frames with ``.to_pandas()`` where they are tabular (pandas is optional)::

    from agents import Client

    client = Client("http://127.0.0.1:8787", token=TOKEN)
    client.route("moonshotai:kimi-k2.5")          # ranked providers and why
    reply = client.chat("moonshotai:kimi-k2.5", "Hello!", max_tokens=100)
    reply.text, reply.provider, reply.cost_micro_usd

Without ``token=`` the client signs its own tokens from the local keystore (this needs the
``gateway`` package; nothing else here imports it). Amounts are integer micro-USD.
"""

from agents.client._acp import PermissionPolicy, allow_once
from agents.client._async import AsyncClient
from agents.client._catalog_results import (
    ModelInfo,
    ModelList,
    ModelOffer,
    Quote,
    RouteCandidate,
    RouteDecision,
    RouteExclusion,
)
from agents.client._chat_results import ChatResult, TokenUsage
from agents.client._errors import BitRouterError
from agents.client._ledger_results import (
    Balance,
    Transaction,
    TransactionList,
    Usage,
    UsageGroup,
    UsageRecord,
    UsageSummary,
    WalletBalance,
)
from agents.client._stream import AsyncChatStream, ChatStream
from agents.client._sync import Client
from agents.client._tokens import TokenFactory
from agents.client._tool_results import (
    AgentInfo,
    AgentList,
    AgentToolCall,
    AgentTurn,
    ToolInfo,
    ToolList,
    ToolResult,
)

__all__ = [
    "AgentInfo",
    "AgentList",
    "AgentToolCall",
    "AgentTurn",
    "AsyncChatStream",
    "AsyncClient",
    "Balance",
    "BitRouterError",
    "ChatResult",
    "ChatStream",
    "Client",
    "ModelInfo",
    "ModelList",
    "ModelOffer",
    "PermissionPolicy",
    "Quote",
    "RouteCandidate",
    "RouteDecision",
    "RouteExclusion",
    "TokenFactory",
    "TokenUsage",
    "ToolInfo",
    "ToolList",
    "ToolResult",
    "Transaction",
    "TransactionList",
    "Usage",
    "UsageGroup",
    "UsageRecord",
    "UsageSummary",
    "WalletBalance",
    "allow_once",
]
