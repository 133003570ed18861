"""Saved tokens: ``tokens/NAME.jwt`` in the home (folder 0700, files 0600)."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.errors import BadRequest, KeystoreError, NotFound
from gateway.identity._claims import LABEL_PATTERN
from gateway.identity._files import write_private

__all__ = ["TokenFiles"]

_NAME = re.compile(LABEL_PATTERN)


class TokenFiles:
    """The tokens saved by ``bitrouter keygen --name``."""

    def __init__(self, home: Path) -> None:
        self.folder = home / "tokens"

    def path(self, name: str) -> Path:
        """Where the token called ``name`` lives.

        Raises:
            BadRequest: the name is not 1-64 letters, digits, '.', '_' or '-'.
        """
        if not _NAME.fullmatch(name):
            raise BadRequest(
                f"token name {name!r} must be 1-64 letters, digits, '.', '_' or '-' "
                "(starting with a letter or digit)",
                param="name",
            )
        return self.folder / f"{name}.jwt"

    def save(self, name: str, token: str, *, force: bool = False) -> Path:
        """Save a token; without ``force`` an existing one is never replaced.

        Raises:
            KeystoreError: a token of that name exists (and not ``force``).
        """
        path = self.path(name)
        if path.exists() and not force:
            raise KeystoreError(f"a token named {name!r} already exists; use --force to replace it")
        try:
            write_private(path, token.encode("ascii") + b"\n", exclusive=not force)
        except KeystoreError:
            if path.exists() and not force:
                raise KeystoreError(f"a token named {name!r} already exists") from None
            raise
        return path

    def read(self, name: str) -> str:
        """The saved token text.

        Raises:
            NotFound: no token of that name.
        """
        path = self.path(name)
        try:
            return path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            raise NotFound(f"no saved token named {name!r} (see `bitrouter keys --list`)") from None
        except (OSError, UnicodeDecodeError):
            raise KeystoreError(f"{path} is not a readable token file") from None

    def names(self) -> list[str]:
        """Names of the saved tokens, sorted."""
        if not self.folder.is_dir():
            return []
        return sorted(p.stem for p in self.folder.glob("*.jwt") if _NAME.fullmatch(p.stem))

    def remove(self, name: str) -> Path:
        """Delete a saved token file.

        Raises:
            NotFound: no token of that name.
        """
        path = self.path(name)
        try:
            path.unlink()
        except FileNotFoundError:
            raise NotFound(f"no saved token named {name!r} (see `bitrouter keys --list`)") from None
        return path
