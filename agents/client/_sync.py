"""``Client``: the gateway's HTTP API from ordinary (blocking) Python code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, overload

import httpx

from agents.client import _acp, _mcp
from agents.client._base import Setup, filter_models
from agents.client._catalog_results import ModelList, Quote, RouteDecision
from agents.client._chat_results import ChatResult
from agents.client._errors import BitRouterError
from agents.client._groups import run_in_thread
from agents.client._http import Messages, decode, error_of, query, unreachable
from agents.client._ledger_results import Balance, TransactionList, Usage, UsageSummary
from agents.client._stream import ChatStream
from agents.client._tokens import TokenFactory
from agents.client._tool_results import AgentList, AgentTurn, ToolList, ToolResult

__all__ = ["Client"]


class Client:
    """A blocking client of a BitRouter gateway (chat, quotes, routing, usage, tools, agents).

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
        self._http = httpx.Client(
            base_url=self.base_url,
            auth=self._setup.auth,
            timeout=timeout,
            trust_env=self._setup.trust_env,
        )

    def _send(self, request: httpx.Request, *, stream: bool = False) -> httpx.Response:
        if self._http.is_closed:
            raise BitRouterError(f"this client of {self.base_url} is closed")
        try:
            return self._http.send(request, stream=stream)
        except httpx.TransportError as exc:
            raise unreachable(self.base_url, exc) from None

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return decode(self._send(self._http.build_request(method, path, **kwargs)))

    def token(self) -> str:
        """The bearer token the client sends now (to hand to another client, e.g. ``openai``)."""
        return self._setup.tokens.get()

    def health(self) -> dict[str, Any]:
        """``GET /health``: whether the gateway answers, and how it serves models."""
        body: dict[str, Any] = self._json("GET", "/health")
        return body

    def models(self, search: str | None = None, *, provider: str | None = None) -> ModelList:
        """The models the gateway routes, with providers and prices; ``search`` keeps those
        whose id or name contains it, ``provider`` those that provider offers."""
        return filter_models(self._json("GET", "/v1/models"), search, provider)

    def route(self, model: str) -> RouteDecision:
        """Where calls to ``model`` go now: the ranked providers, and why."""
        return RouteDecision.from_json(self._json("GET", "/v1/route", params={"model": model}))

    def quote(
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
        return Quote.from_json(self._json("POST", "/v1/quotes", json=call.body))

    @overload
    def chat(
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
    def chat(
        self,
        model: str,
        messages: Messages,
        *,
        max_tokens: int | None = ...,
        stream: Literal[True],
        provider: Mapping[str, Any] | None = ...,
        quote: Quote | str | None = ...,
        **params: Any,
    ) -> ChatStream: ...

    def chat(
        self,
        model: str,
        messages: Messages,
        *,
        max_tokens: int | None = None,
        stream: bool = False,
        provider: Mapping[str, Any] | None = None,
        quote: Quote | str | None = None,
        **params: Any,
    ) -> ChatResult | ChatStream:
        """A chat completion; ``messages`` is a prompt or OpenAI messages.

        Args:
            stream: return a :class:`ChatStream` of text deltas instead of waiting.
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
            response = self._send(request)
            rid = response.headers.get("x-request-id")
            return ChatResult.from_json(decode(response), request_id=rid, quote_id=call.quote_id)
        response = self._send(request, stream=True)
        if response.status_code >= 400:
            response.read()
            response.close()
            raise error_of(response)
        return ChatStream(response, self.base_url)

    def usage(
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
        return Usage.from_json(self._json("GET", "/v1/usage", params=params))

    def usage_summary(
        self,
        group_by: Literal["model", "provider", "day", "kind"] = "model",
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> UsageSummary:
        """Your spend added up by model, provider, day or kind (model, tool, agent)."""
        params = query(group_by=group_by, since=since, until=until)
        body = self._json("GET", "/v1/usage/summary", params=params)
        return UsageSummary.from_json(body)

    def balance(self) -> Balance:
        """What you spent and may still spend: caps, expiry, authority and wallet balances."""
        return Balance.from_json(self._json("GET", "/v1/balance"))

    def transactions(self, *, limit: int | None = None) -> TransactionList:
        """Your on-chain settlements, newest first."""
        params = query(limit=limit)
        return TransactionList.from_json(self._json("GET", "/v1/transactions", params=params))

    def tools(self) -> ToolList:
        """The MCP tools your token may call, with their prices."""
        return ToolList.from_json(self._json("GET", "/v1/tools"))

    def call_tool(self, name: str, arguments: Mapping[str, Any] | None = None) -> ToolResult:
        """Call MCP tool ``name`` (``server__tool``) through the gateway's ``/mcp``."""
        token, timeout = self.token(), self._setup.timeout
        return run_in_thread(
            lambda: _mcp.call_tool(self.base_url, token, name, arguments, timeout=timeout)
        )

    def agents(self) -> AgentList:
        """The ACP agents the gateway hosts, with their prices per turn."""
        return AgentList.from_json(self._json("GET", "/v1/agents"))

    def prompt_agent(
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

        async def turn() -> AgentTurn:
            async with httpx.AsyncClient(
                auth=self._setup.auth,
                timeout=self._setup.timeout,
                trust_env=self._setup.trust_env,
            ) as http:
                return await _acp.prompt_agent(
                    http,
                    self.base_url,
                    agent,
                    prompt,
                    policy=on_permission,
                    cwd=cwd,
                    timeout=timeout,
                )

        return run_in_thread(turn)

    def close(self) -> None:
        """Close the client's connections."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<bitrouter Client {self.base_url}>"
