"""What the chat service needs to know about its caller."""

from __future__ import annotations

from typing import Protocol

__all__ = ["ChatPrincipal"]


class ChatPrincipal(Protocol):
    """The verified caller: its identity and whether its token allows a model."""

    @property
    def identity(self) -> str:
        """The key under which spending and usage are kept (CAIP-10 ``iss``)."""
        ...

    def check_model(self, model_id: str) -> None:
        """Raise Forbidden unless the token allows ``model_id`` (canonical ``vendor/model``)."""
        ...
