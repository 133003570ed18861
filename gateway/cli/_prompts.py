"""The wizard's questions: arrow-key menus, masked keys, text and yes/no (questionary).

Every question takes the answer its command-line flag gave (``given``); only questions without
one are asked, and an unattended run (``--yes``) takes each default instead. Ctrl-C raises
``KeyboardInterrupt`` (questionary's ``unsafe_ask``), so the command stops before anything is
written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

__all__ = ["Asker"]

T = TypeVar("T")
Validator = Callable[[str], str | None]  # an error message, or None when the text is fine


class Asker:
    """Asks in a terminal (``interactive``), or answers every question with its default."""

    def __init__(self, interactive: bool) -> None:
        self.interactive = interactive

    def choose(self, message: str, choices: Sequence[tuple[str, T]], given: T | None) -> T:
        """A menu (arrow keys and Enter); the first choice is the default."""
        if given is not None:
            return given
        if not self.interactive:
            return choices[0][1]
        import questionary

        options = [questionary.Choice(title, value=value) for title, value in choices]
        answer: T = questionary.select(
            message, options, instruction="(arrow keys, Enter)"
        ).unsafe_ask()
        return answer

    def text(
        self,
        message: str,
        default: str,
        given: str | None = None,
        validate: Validator | None = None,
    ) -> str:
        """A line of text, prefilled with ``default``."""
        if given is not None:
            return given
        if not self.interactive:
            return default

        def check(text: str) -> bool | str:
            problem = validate(text.strip()) if validate else None
            return True if problem is None else problem

        import questionary

        answer: str = questionary.text(message, default=default, validate=check).unsafe_ask()
        return answer.strip()

    def secret(self, message: str) -> str:
        """A masked value (an API key); empty when skipped or unattended."""
        if not self.interactive:
            return ""
        import questionary

        answer: str = questionary.password(message).unsafe_ask()
        return answer.strip()

    def confirm(self, message: str, default: bool, given: bool | None = None) -> bool:
        """Yes or no."""
        if given is not None:
            return given
        if not self.interactive:
            return default
        import questionary

        answer: bool = questionary.confirm(message, default=default).unsafe_ask()
        return answer
