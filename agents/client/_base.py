"""What the sync and async clients share: where the gateway is, the token, request shapes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.client._catalog_results import ModelList, Quote
from agents.client._http import BearerAuth, Messages, chat_body, is_loopback
from agents.client._tokens import TokenFactory, TokenSource

__all__ = ["ChatCall", "Setup", "filter_models"]

QUOTE_HEADER = "x-bitrouter-quote"


@dataclass(frozen=True)
class ChatCall:
    """A chat request ready to send: its body and headers."""

    body: dict[str, Any]
    headers: dict[str, str]
    quote_id: str | None


class Setup:
    """A client's settings: the gateway's base URL, its token source and its timeout."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        home: str | Path | None,
        agent: str | None,
        token_factory: TokenFactory | None,
        timeout: float,
    ) -> None:
        url = base_url.rstrip("/")
        # An OpenAI-style base URL (``…/v1``) names the same gateway.
        self.base_url = url[: -len("/v1")] if url.endswith("/v1") else url
        self.tokens = TokenSource(token, factory=token_factory, home=home, agent=agent)
        self.auth = BearerAuth(self.tokens)
        self.timeout = timeout
        # No proxy from the environment for a gateway on this machine.
        self.trust_env = not is_loopback(self.base_url)

    def chat(
        self,
        model: str,
        messages: Messages,
        *,
        max_tokens: int | None,
        stream: bool,
        provider: Mapping[str, Any] | None,
        quote: Quote | str | None,
        params: Mapping[str, Any],
    ) -> ChatCall:
        """The request of a chat call (bound to ``quote`` when given)."""
        body = chat_body(
            model, messages, max_tokens=max_tokens, stream=stream, provider=provider, params=params
        )
        quote_id = quote.id if isinstance(quote, Quote) else quote
        headers = {QUOTE_HEADER: quote_id} if quote_id else {}
        return ChatCall(body, headers, quote_id)

    def __repr__(self) -> str:
        return self.base_url


def filter_models(data: Any, search: str | None, provider: str | None) -> ModelList:
    """The models of a ``GET /v1/models`` body whose id or name contains ``search`` (any case)
    and that ``provider`` offers."""
    listing = ModelList.from_json_list(data)
    wanted = (search or "").lower()
    kept = tuple(
        m
        for m in listing
        if (not wanted or wanted in m.id.lower() or wanted in m.name.lower())
        and (provider is None or any(o.provider == provider for o in m.providers))
    )
    return ModelList(kept)
