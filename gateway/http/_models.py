"""``GET /v1/models``: the catalog in the OpenAI list shape, with providers and prices."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from quart import Blueprint, Response

from gateway.http._openapi import RouteSpec
from gateway.http._respond import json_response
from gateway.http._state import runtime

__all__ = ["ROUTES", "ModelList", "blueprint"]


class ModelProvider(BaseModel):
    """One provider's offer of a model."""

    id: str
    provider_model_id: str
    routable: bool
    simulated: bool
    status: str
    prices_micro_usd_per_mtok: dict[str, int]


class ModelCard(BaseModel):
    """One model of the catalog."""

    id: str
    object: str = "model"
    created: int = 0
    owned_by: str
    name: str
    max_input_tokens: int | None = None
    max_output_tokens: int | None = None
    providers: list[ModelProvider]


class ModelList(BaseModel):
    """The OpenAI list shape."""

    object: str = "list"
    data: list[ModelCard]


ROUTES = (
    RouteSpec(
        "GET",
        "/v1/models",
        "Every model with its providers, prices and routability",
        "none",
        response=ModelList,
    ),
)


def _card(model: Any, status: Any) -> dict[str, Any]:
    providers = []
    for offer in model.offers:
        state = status(offer.provider)
        providers.append(
            {
                "id": offer.provider,
                "provider_model_id": offer.provider_model_id,
                "routable": state.routable,
                "simulated": state.simulated,
                "status": state.note,
                "prices_micro_usd_per_mtok": offer.prices.to_dict(),
            }
        )
    return {
        "id": model.id,
        "object": "model",
        "created": 0,
        "owned_by": model.id.split("/", 1)[0],
        "name": model.name,
        "max_input_tokens": model.max_input_tokens,
        "max_output_tokens": model.max_output_tokens,
        "providers": providers,
    }


def blueprint() -> Blueprint:
    """The model listing route."""
    bp = Blueprint("models", __name__)

    @bp.get("/v1/models")
    async def models() -> Response:
        rt = runtime()
        data = [_card(m, rt.provider_status) for m in rt.catalog]
        return json_response({"object": "list", "data": data})

    return bp
