"""``AsyncClient``: the gateway's HTTP API from async code — asyncio (a notebook's top-level
``await``) or trio alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, overload

import anyio.to_thread
import httpx

from agents.client import _acp, _mcp
from agents.client._base import Setup, filter_models
from agents.client._catalog_results import ModelList, Quote, RouteDecision
from agents.client._chat_results import ChatResult
from agents.client._errors import BitRouterError
from agents.client._http import Messages, decode, error_of, query, unreachable
from agents.client._ledger_results import Balance, TransactionList, Usage, UsageSummary
from agents.client._stream import AsyncChatStream
from agents.client._tokens import TokenFactory
from agents.client._tool_results import AgentList, AgentTurn, ToolList, ToolResult

__all__ = ["AsyncClient"]


class AsyncClient:
    """An async client of a BitRouter gateway: :class:`Client`'s methods, awaited.

    Args:
        base_url: the gateway, e.g. ``http://127.0.0.1:8787`` (a trailing ``/v1`` is fine).
        token: the bearer token to send. When omitted the client signs its own tokens, with
            ``token_factory`` if given, else from the keystore of ``home`` (default
            ``$BITROUTER_HOME`` or ``~/.bitrouter``), by agent ``agent``'s key if given — which
            needs the ``gateway`` package installed beside this one.
        timeout: seconds to wait for an answer.

    Every method raises :class:`BitRouterError` when the gateway refuses or cannot be reached.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        home: str | Path | None = None,
        agent: str | None = None,
        token_factory: TokenFactory | None = None,
        timeout: float = 60.0,
    ) -> None:
        self._setup = Setup(
            base_url, token, home=home, agent=agent, token_factory=token_factory, timeout=timeout
        )
        self.base_url = self._setup.base_url
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            auth=self._setup.auth,
            timeout=timeout,
            trust_env=self._setup.trust_env,
        )

    async def _send(self, request: httpx.Request, *, stream: bool = False) -> httpx.Response:
        if self._http.is_closed:
            raise BitRouterError(f"this client of {self.base_url} is closed")
        try:
            return await self._http.send(request, stream=stream)
        except httpx.TransportError as exc:
            raise unreachable(self.base_url, exc) from None

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return decode(await self._send(self._http.build_request(method, path, **kwargs)))

    async def token(self) -> str:
        """The bearer token the client sends now (to hand to another client, e.g. ``openai``)."""
        tokens = self._setup.tokens
        return await anyio.to_thread.run_sync(tokens.get) if tokens.stale() else tokens.get()

    async def health(self) -> dict[str, Any]:
        """``GET /health``: whether the gateway answers, and how it serves models."""
        body: dict[str, Any] = await self._json("GET", "/health")
        return body

    async def models(self, search: str | None = None, *, provider: str | None = None) -> ModelList:
        """The models the gateway routes, with providers and prices; ``search`` keeps those
        whose id or name contains it, ``provider`` those that provider offers."""
        return filter_models(await self._json("GET", "/v1/models"), search, provider)

    async def route(self, model: str) -> RouteDecision:
        """Where calls to ``model`` go now: the ranked providers, and why."""
        return RouteDecision.from_json(
            await self._json("GET", "/v1/route", params={"model": model})
        )

    async def quote(
        self,
        model: str,
        messages: Messages,
        *,
        max_tokens: int | None = None,
        provider: Mapping[str, Any] | None = None,
        **params: Any,
    ) -> Quote:
        """A binding price for a chat call (pass it to :meth:`chat` as ``quote=``)."""
        call = self._setup.chat(
            model,
            messages,
            max_tokens=max_tokens,
            stream=False,
            provider=provider,
            quote=None,
            params=params,
        )
        return Quote.from_json(await self._json("POST", "/v1/quotes", json=call.body))

    @overload
    async def chat(
        self,
        model: str,
        messages: Messages,
        *,
        max_tokens: int | None = ...,
        stream: Literal[False] = ...,
        provider: Mapping[str, Any] | None = ...,
        quote: Quote | str | None = ...,
        **params: Any,
    ) -> ChatResult: ...

    @overload
    async def chat(
        self,
        model: str,
        messages: Messages,
        *,
        max_tokens: int | None = ...,
        stream: Literal[True],
        provider: Mapping[str, Any] | None = ...,
        quote: Quote | str | None = ...,
        **params: Any,
    ) -> AsyncChatStream: ...

    async def chat(
        self,
        model: str,
        messages: Messages,
        *,
        max_tokens: int | None = None,
        stream: bool = False,
        provider: Mapping[str, Any] | None = None,
        quote: Quote | str | None = None,
        **params: Any,
    ) -> ChatResult | AsyncChatStream:
        """A chat completion; ``messages`` is a prompt or OpenAI messages.

        Args:
            stream: return an :class:`AsyncChatStream` of text deltas instead of waiting.
            provider: OpenRouter-style preferences (``order``, ``only``, ``ignore``, ``sort``…).
            quote: a :class:`Quote` (or its id): the call is charged at the quoted prices.
            params: any other OpenAI parameter (``temperature``, ``tools``…).
        """
        call = self._setup.chat(
            model,
            messages,
            max_tokens=max_tokens,
            stream=stream,
            provider=provider,
            quote=quote,
            params=params,
        )
        request = self._http.build_request(
            "POST", "/v1/chat/completions", json=call.body, headers=call.headers
        )
        if not stream:
            response = await self._send(request)
            rid = response.headers.get("x-request-id")
            return ChatResult.from_json(decode(response), request_id=rid, quote_id=call.quote_id)
        response = await self._send(request, stream=True)
        if response.status_code >= 400:
            await response.aread()
            await response.aclose()
            raise error_of(response)
        return AsyncChatStream(response, self.base_url)

    async def usage(
        self,
        *,
        limit: int | None = None,
        model: str | None = None,
        provider: str | None = None,
        kind: Literal["model", "tool", "agent"] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Usage:
        """Your recent requests (newest first) with tokens and cost.

        Args:
            limit: at most this many (the gateway's default is 50).
            model: only this model, tool or agent.
            kind: only model calls, tool calls or agent turns.
        """
        params = query(
            limit=limit, model=model, provider=provider, kind=kind, since=since, until=until
        )
        return Usage.from_json(await self._json("GET", "/v1/usage", params=params))

    async def usage_summary(
        self,
        group_by: Literal["model", "provider", "day", "kind"] = "model",
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> UsageSummary:
        """Your spend added up by model, provider, day or kind (model, tool, agent)."""
        params = query(group_by=group_by, since=since, until=until)
        body = await self._json("GET", "/v1/usage/summary", params=params)
        return UsageSummary.from_json(body)

    async def balance(self) -> Balance:
        """What you spent and may still spend: caps, expiry, authority and wallet balances."""
        return Balance.from_json(await self._json("GET", "/v1/balance"))

    async def transactions(self, *, limit: int | None = None) -> TransactionList:
        """Your on-chain settlements, newest first."""
        params = query(limit=limit)
        return TransactionList.from_json(await self._json("GET", "/v1/transactions", params=params))

    async def tools(self) -> ToolList:
        """The MCP tools your token may call, with their prices."""
        return ToolList.from_json(await self._json("GET", "/v1/tools"))

    async def call_tool(self, name: str, arguments: Mapping[str, Any] | None = None) -> ToolResult:
        """Call MCP tool ``name`` (``server__tool``) through the gateway's ``/mcp``."""
        token = await self.token()
        return await _mcp.call_tool(
            self.base_url, token, name, arguments, timeout=self._setup.timeout
        )

    async def agents(self) -> AgentList:
        """The ACP agents the gateway hosts, with their prices per turn."""
        return AgentList.from_json(await self._json("GET", "/v1/agents"))

    async def prompt_agent(
        self,
        agent: str,
        prompt: str | Sequence[Mapping[str, Any]],
        *,
        on_permission: _acp.PermissionPolicy = _acp.allow_once,
        cwd: str | None = None,
        timeout: float = 120.0,
    ) -> AgentTurn:
        """One prompt turn of hosted agent ``agent`` over ACP (a new session).

        Args:
            prompt: the text, or ACP content blocks.
            on_permission: answers the agent's permission requests (default: allow once).
            cwd: the working directory to offer the agent (default: this process's).
        """
        return await _acp.prompt_agent(
            self._http, self.base_url, agent, prompt, policy=on_permission, cwd=cwd, timeout=timeout
        )

    async def aclose(self) -> None:
        """Close the client's connections."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"<bitrouter AsyncClient {self.base_url}>"
