"""The assistant as an ACP agent: sessions, turns that can be cancelled, nothing persisted."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

from acp import PROTOCOL_VERSION, Client
from acp.exceptions import RequestError
from acp.schema import (
    AgentCapabilities,
    AuthenticateResponse,
    ClientCapabilities,
    EmbeddedResourceContentBlock,
    HttpMcpServer,
    Implementation,
    InitializeResponse,
    McpCapabilities,
    NewSessionResponse,
    PromptCapabilities,
    PromptResponse,
    ResourceContentBlock,
    TextContentBlock,
)

from agents.assistant._config import AssistantConfig
from agents.assistant._conversation import Conversation

__all__ = ["Assistant", "prompt_text"]


def prompt_text(blocks: list[Any]) -> str:
    """The user's prompt as text (resources inlined, media left out)."""
    parts: list[str] = []
    for block in blocks:
        if isinstance(block, TextContentBlock):
            parts.append(block.text)
        elif isinstance(block, ResourceContentBlock):
            parts.append(f"[{block.name}]({block.uri})")
        elif isinstance(block, EmbeddedResourceContentBlock):
            text = getattr(block.resource, "text", None)
            if isinstance(text, str):
                parts.append(f"<{block.resource.uri}>\n{text}")
    return "\n".join(parts)


class Assistant:
    """A tool-using assistant: the gateway's chat completions and MCP tools."""

    def __init__(self, config: AssistantConfig) -> None:
        self._config = config
        self._model: Any = None
        self._conn: Client | None = None
        self._sessions: dict[str, Conversation] = {}
        self._cancels: dict[str, asyncio.Event] = {}

    def on_connect(self, conn: Client) -> None:
        """Keep the client connection (to stream updates and ask permission)."""
        self._conn = conn

    async def initialize(
        self,
        protocol_version: int,
        client_capabilities: ClientCapabilities | None = None,
        client_info: Implementation | None = None,
        **kwargs: Any,
    ) -> InitializeResponse:
        """Capabilities: text and embedded context in prompts, HTTP MCP servers."""
        return InitializeResponse(
            protocol_version=min(protocol_version, PROTOCOL_VERSION),
            agent_capabilities=AgentCapabilities(
                prompt_capabilities=PromptCapabilities(embedded_context=True),
                mcp_capabilities=McpCapabilities(http=True),
            ),
            agent_info=Implementation(
                name="bitrouter-assistant", title="BitRouter assistant", version="0.1.0"
            ),
        )

    async def authenticate(self, method_id: str, **kwargs: Any) -> AuthenticateResponse:
        """Nothing to log in to: the model endpoint's key comes with the environment."""
        return AuthenticateResponse()

    async def new_session(
        self,
        cwd: str,
        additional_directories: list[str] | None = None,
        mcp_servers: list[Any] | None = None,
        **kwargs: Any,
    ) -> NewSessionResponse:
        """A new conversation using the HTTP MCP servers it is given."""
        session_id = uuid.uuid4().hex
        servers = [s for s in mcp_servers or () if isinstance(s, HttpMcpServer)]
        system = {"role": "system", "content": self._config.system_prompt}
        self._sessions[session_id] = Conversation(servers=servers, messages=[system])
        return NewSessionResponse(session_id=session_id)

    async def prompt(self, session_id: str, prompt: list[Any], **kwargs: Any) -> PromptResponse:
        """Run one turn; ``cancelled`` as soon as the client cancels it."""
        conversation = self._sessions.get(session_id)
        if conversation is None or self._conn is None:
            raise RequestError.invalid_params({"sessionId": f"unknown session {session_id!r}"})
        # The model and tool clients are imported at the first turn: starting the agent (and
        # answering initialize) stays fast, which matters when a gateway starts one per session.
        from openai import AsyncOpenAI

        from agents.assistant._turn import run_turn

        if self._model is None:
            config = self._config
            self._model = AsyncOpenAI(
                base_url=config.base_url, api_key=config.api_key, max_retries=1
            )
        cancel = self._cancels[session_id] = asyncio.Event()
        turn = asyncio.ensure_future(
            run_turn(
                self._conn,
                session_id,
                conversation,
                self._config,
                self._model,
                prompt_text(prompt),
            )
        )
        cancelled = asyncio.ensure_future(cancel.wait())
        try:
            await asyncio.wait({turn, cancelled}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            cancelled.cancel()
            if not turn.done():
                turn.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await turn
            self._cancels.pop(session_id, None)
        if cancel.is_set() or turn.cancelled():
            return PromptResponse(stop_reason="cancelled")
        return turn.result()

    async def cancel(self, session_id: str, **kwargs: Any) -> None:
        """Stop the session's running turn."""
        event = self._cancels.get(session_id)
        if event is not None:
            event.set()
