"""Default mode: the upstream is another bitrouter gateway (an operator), reached over HTTP.

Every catalog model is offered by one provider, ``remote``: the operator's OpenAI-compatible
``{remote.url}/v1``, the model sent as its canonical ``vendor/model`` id. Each call carries a
fresh token signed by the local agent key (``remote.agent``, else the master key), so the
operator charges that agent. Prices are the operator's (its ``/v1/models``, read once at start),
else the local catalog's cheapest offer of each model.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import httpx

from gateway.core import Catalog, ModelEntry, Offer, Prices, ProviderEntry
from gateway.core.catalog import Protocol as WireFamily
from gateway.identity import ChainFamily, Keystore, TokenCodec, WalletKey, issue_claims
from gateway.providers._anthropic import AnthropicUpstream
from gateway.providers._gemini import GeminiUpstream
from gateway.providers._openai import OpenAIUpstream, openai_headers
from gateway.providers._types import ChunkStream, Completion, Endpoint, Upstream, UpstreamCall
from gateway.settings import Settings

if TYPE_CHECKING:
    # Not yet exported by gateway.settings; only its type is needed here.
    from gateway.settings._schema import RemoteSettings

__all__ = [
    "REMOTE_PROVIDER",
    "RemoteTokens",
    "RemoteUpstream",
    "load_remote_catalog",
    "parse_operator_prices",
    "remote_catalog",
    "remote_endpoint",
    "remote_settings",
    "remote_upstreams",
]

REMOTE_PROVIDER = "remote"
_TOKEN_TTL_SECONDS = 300  # a token lives only as long as one call may take, with room to spare
_PRICES_TIMEOUT_SECONDS = 5.0
_PRICE_FIELDS = ("input", "output", "cache_read", "cache_write", "reasoning")
_log = logging.getLogger("bitrouter")


def remote_settings(settings: Settings) -> RemoteSettings | None:
    """The operator to call when the gateway runs in default mode with a remote configured."""
    return settings.remote if settings.mode == "default" else None


def _base_url(remote: RemoteSettings) -> str:
    return remote.url.rstrip("/") + "/v1"


def remote_endpoint(settings: Settings, remote: RemoteSettings) -> Endpoint:
    """The operator's endpoint; its calls get their ``authorization`` from :class:`RemoteTokens`."""
    routing = settings.routing
    return Endpoint(
        provider=REMOTE_PROVIDER,
        protocol="openai",
        base_url=_base_url(remote),
        headers=openai_headers(None),
        connect_timeout=routing.connect_timeout_seconds,
        first_byte_timeout=routing.first_byte_timeout_seconds,
    )


class RemoteTokens:
    """Mints a short-lived ``api`` token signed by the local agent key, one per call."""

    def __init__(self, keystore: Keystore, remote: RemoteSettings) -> None:
        self._keystore = keystore
        self._agent = remote.agent
        self._family: ChainFamily = "evm" if remote.chain == "tempo" else "solana"
        self._codec = TokenCodec()
        self._keys: tuple[WalletKey, WalletKey | None] | None = None

    def _signer(self) -> tuple[WalletKey, WalletKey | None]:
        # Read on first use (the gateway starts even before the agent exists), then kept, so
        # that minting (~0.2 ms) touches no file on the call path.
        if self._keys is None:
            keystore, agent = self._keystore, self._agent
            key = keystore.agent(agent) if agent else keystore.master()
            owner = keystore.master() if agent and keystore.has_master() else None
            self._keys = (key, owner)
        return self._keys

    def mint(self) -> str:
        """A fresh token for one call to the operator.

        Raises:
            KeystoreError: the configured agent (or the master key) does not exist.
        """
        key, owner = self._signer()
        iat = int(time.time())
        claims = issue_claims(
            key,
            self._family,
            scope="api",
            iat=iat,
            exp=iat + _TOKEN_TTL_SECONDS,
            agent=self._agent,
            owner=owner,
        )
        return self._codec.sign(claims, key)


class RemoteUpstream:
    """The OpenAI upstream, with each call's ``authorization`` a freshly minted token."""

    def __init__(self, inner: Upstream, tokens: RemoteTokens) -> None:
        self._inner = inner
        self._tokens = tokens

    def _signed(self, call: UpstreamCall) -> UpstreamCall:
        headers = {**call.endpoint.headers, "authorization": f"Bearer {self._tokens.mint()}"}
        return replace(call, endpoint=replace(call.endpoint, headers=headers))

    async def complete(self, call: UpstreamCall) -> Completion:
        """The whole response of a non-streaming call."""
        return await self._inner.complete(self._signed(call))

    async def open_stream(self, call: UpstreamCall) -> ChunkStream:
        """A stream, returned once the operator answered with success and a first event."""
        return await self._inner.open_stream(self._signed(call))


def remote_upstreams(
    settings: Settings, remote: RemoteSettings, transport: httpx.AsyncBaseTransport
) -> Mapping[WireFamily, Upstream]:
    """The upstreams of a default-mode gateway: OpenAI calls go to the operator, signed."""
    tokens = RemoteTokens(Keystore(settings.home), remote)
    return {
        "openai": RemoteUpstream(OpenAIUpstream(transport), tokens),
        "anthropic": AnthropicUpstream(transport),
        "google": GeminiUpstream(transport),
    }


def _cheapest(model: ModelEntry) -> Prices:
    return min((o.prices for o in model.offers), key=lambda p: (p.input + p.output, p.input))


def remote_catalog(
    catalog: Catalog, remote: RemoteSettings, prices: Mapping[str, Prices]
) -> Catalog:
    """``catalog`` with every model offered only by the operator, at ``prices`` (by model id;
    a model missing there keeps its cheapest local price)."""
    models = [
        replace(
            model,
            offers=(Offer(REMOTE_PROVIDER, model.id, prices.get(model.id) or _cheapest(model)),),
        )
        for model in catalog
        if model.offers
    ]
    provider = ProviderEntry(
        REMOTE_PROVIDER, f"{REMOTE_PROVIDER} ({remote.url})", "openai", _base_url(remote), None
    )
    return Catalog.build(models, [provider])


def _prices(raw: Any) -> Prices | None:
    if not isinstance(raw, dict):
        return None
    values = {name: raw.get(name) for name in _PRICE_FIELDS}
    if not all(isinstance(v, int) for v in (values["input"], values["output"])):
        return None
    return Prices(**{k: v for k, v in values.items() if isinstance(v, int)})


def _operator_price(card: dict[str, Any]) -> Prices | None:
    # The operator's own ``remote`` offer when it is itself a client of another operator, else
    # its cheapest routable offer (the one its router ranks first when all else is equal).
    found: list[tuple[bool, Prices]] = []
    for offer in card.get("providers") or ():
        if not isinstance(offer, dict) or not offer.get("routable"):
            continue
        prices = _prices(offer.get("prices_micro_usd_per_mtok"))
        if prices is not None:
            found.append((offer.get("id") != REMOTE_PROVIDER, prices))
    if not found:
        return None
    return min(found, key=lambda f: (f[0], f[1].input + f[1].output))[1]


def parse_operator_prices(listing: Any) -> dict[str, Prices]:
    """Each model's price from an operator's ``GET /v1/models`` answer."""
    cards = listing.get("data") if isinstance(listing, dict) else None
    found: dict[str, Prices] = {}
    for card in cards if isinstance(cards, list) else ():
        if isinstance(card, dict) and isinstance(card.get("id"), str):
            prices = _operator_price(card)
            if prices is not None:
                found[card["id"]] = prices
    return found


async def load_remote_catalog(
    catalog: Catalog,
    remote: RemoteSettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Catalog:
    """The default-mode catalog at the operator's prices (read once; on failure the local
    catalog's cheapest prices, with one log line)."""
    url = _base_url(remote) + "/models"
    try:
        async with httpx.AsyncClient(
            timeout=_PRICES_TIMEOUT_SECONDS, transport=transport
        ) as client:
            response = await client.get(url)
            response.raise_for_status()
            prices = parse_operator_prices(response.json())
    except (httpx.HTTPError, ValueError) as exc:
        _log.warning(
            "could not read the operator's prices from %s (%s); showing local catalog prices",
            url,
            type(exc).__name__,
        )
        prices = {}
    return remote_catalog(catalog, remote, prices)
