"""The home's keys: the master seed and agent seeds, one JSON file each under ``keys/``.

Layout: ``keys/master.json`` and ``keys/agents/<label>.json``, each
``{"version": 1, "kind": "master"|"agent", "seed": "<64 hex>"}``; folders 0700, files 0600.
Seeds come from the OS CSPRNG and are written atomically; a replaced master is kept as
``keys/master.json.bak-<UTC time>``.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gateway.errors import KeystoreError
from gateway.identity._claims import LABEL_PATTERN
from gateway.identity._files import ensure_private_dir, write_private
from gateway.identity._keys import WalletKey

__all__ = ["KeyAddresses", "Keystore"]

_LABEL = re.compile(LABEL_PATTERN)
_KeyKind = Literal["master", "agent"]


@dataclass(frozen=True, slots=True)
class KeyAddresses:
    """Public addresses of the keystore's keys: ``(namespace, address)`` pairs."""

    master: frozenset[tuple[str, str]]
    agents: frozenset[tuple[str, str]]

    @property
    def all(self) -> frozenset[tuple[str, str]]:
        """Master and agent addresses together."""
        return self.master | self.agents


def _pairs(key: WalletKey) -> frozenset[tuple[str, str]]:
    return frozenset({("solana", key.solana_address), ("eip155", key.evm_address)})


def _check_label(label: str) -> str:
    if not _LABEL.fullmatch(label):
        raise KeystoreError(
            f"agent label {label!r} must be 1-64 letters, digits, '.', '_' or '-' "
            "(starting with a letter or digit)"
        )
    return label


class Keystore:
    """The key files of one home. Blocking file I/O: call it from a worker thread in async code."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.folder = home / "keys"
        self.master_path = self.folder / "master.json"
        self.agents_folder = self.folder / "agents"

    def has_master(self) -> bool:
        """Whether a master key exists."""
        return self.master_path.exists()

    def master(self) -> WalletKey:
        """The master key.

        Raises:
            KeystoreError: there is none, or its file is unreadable.
        """
        if not self.master_path.exists():
            raise KeystoreError(
                f"no master key in {self.folder}; run `bitrouter account --generate-key`"
            )
        return self._read(self.master_path, "master")

    def generate_master(self, *, force: bool = False) -> tuple[WalletKey, Path | None]:
        """Create the master key; with ``force`` replace it, keeping a backup.

        Returns:
            The new key and the backup's path (``None`` when nothing was replaced).

        Raises:
            KeystoreError: a master key exists and ``force`` is false.
        """
        ensure_private_dir(self.home)
        seed = secrets.token_bytes(32)
        backup: Path | None = None
        if self.master_path.exists():
            if not force:
                raise KeystoreError(
                    f"a master key already exists in {self.folder}; "
                    "use --force to replace it (the old one is kept as a backup)"
                )
            old = self.master_path.read_bytes()
            stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
            backup = self.folder / f"master.json.bak-{stamp}-{secrets.token_hex(2)}"
            write_private(backup, old, exclusive=True)
        write_private(self.master_path, self._encode(seed, "master"), exclusive=not force)
        return WalletKey(seed), backup

    def agent(self, label: str) -> WalletKey:
        """The agent key with this label.

        Raises:
            KeystoreError: the label is malformed or unknown, or the file is unreadable.
        """
        path = self.agents_folder / f"{_check_label(label)}.json"
        if not path.exists():
            raise KeystoreError(f"no agent key labelled {label!r} in {self.agents_folder}")
        return self._read(path, "agent")

    def create_agent(self, label: str) -> WalletKey:
        """Create a new agent key (a fresh random seed) under ``label``.

        Raises:
            KeystoreError: the label is malformed or already taken.
        """
        path = self.agents_folder / f"{_check_label(label)}.json"
        ensure_private_dir(self.home)
        ensure_private_dir(self.folder)
        seed = secrets.token_bytes(32)
        try:
            write_private(path, self._encode(seed, "agent"), exclusive=True)
        except KeystoreError:
            if path.exists():
                raise KeystoreError(f"an agent key labelled {label!r} already exists") from None
            raise
        return WalletKey(seed)

    def agents(self) -> list[str]:
        """Labels of the agent keys, sorted."""
        if not self.agents_folder.is_dir():
            return []
        return sorted(p.stem for p in self.agents_folder.glob("*.json") if _LABEL.fullmatch(p.stem))

    def addresses(self) -> KeyAddresses:
        """The public addresses of the master (if any) and of every agent."""
        master = _pairs(self.master()) if self.has_master() else frozenset()
        agents: frozenset[tuple[str, str]] = frozenset()
        for label in self.agents():
            agents |= _pairs(self.agent(label))
        return KeyAddresses(master, agents)

    def _encode(self, seed: bytes, kind: _KeyKind) -> bytes:
        return json.dumps({"version": 1, "kind": kind, "seed": seed.hex()}).encode("ascii")

    def _read(self, path: Path, kind: _KeyKind) -> WalletKey:
        try:
            if path.stat().st_mode & 0o077:
                path.chmod(0o600)
            data = json.loads(path.read_bytes())
            seed = bytes.fromhex(data["seed"])
            valid = data.get("version") == 1 and data.get("kind") == kind and len(seed) == 32
        except OSError as exc:
            raise KeystoreError(f"{path}: cannot read the key file ({exc.strerror})") from None
        except (ValueError, KeyError, TypeError):
            valid = False
        if not valid:
            raise KeystoreError(f"{path} is not a valid {kind} key file")
        return WalletKey(seed)
