"""The operator's access policy: which issuers this gateway serves (settings ``auth``).

- ``local`` (default): only this home's master key and its agents.
- ``allowlist``: those, plus the accounts and addresses in ``auth.allow``.
- ``onchain``: those, plus any issuer for which the chain layer's predicate says it holds an
  authority (an async callable, so that the check can reach the chain).
- ``open``: any wallet.

The home's own keys are allowed in every mode so the operator cannot lock themselves out, and
``admin`` tokens are accepted only from the master key: in ``open`` mode anyone can mint a
token, and management routes must not be theirs.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable

import trio

from gateway.errors import ConfigError, Forbidden
from gateway.identity._caip import parse_account, parse_address
from gateway.identity._clock import Clock
from gateway.identity._keystore import KeyAddresses, Keystore
from gateway.identity._principal import Principal
from gateway.settings import AuthSettings

__all__ = ["AccessPolicy", "OnchainCheck"]

OnchainCheck = Callable[[Principal], Awaitable[bool]]
_Stamp = tuple[tuple[str, int, int], ...]


def _parse_allow(entries: tuple[str, ...]) -> tuple[frozenset[str], frozenset[tuple[str, str]]]:
    accounts: set[str] = set()
    addresses: set[tuple[str, str]] = set()
    for i, entry in enumerate(entries):
        try:
            if ":" in entry:
                accounts.add(parse_account(entry).caip10)
            elif entry.startswith("0x"):
                addresses.add(("eip155", parse_address("eip155", entry)))
            else:
                addresses.add(("solana", parse_address("solana", entry)))
        except ValueError as exc:
            raise ConfigError(
                f"auth.allow[{i}]: not a CAIP-10 account or address ({exc})"
            ) from None
    return frozenset(accounts), frozenset(addresses)


def _stamp(keystore: Keystore) -> _Stamp:
    # Inodes, not folder mtimes: key files are published by link/rename (a new inode each time),
    # and a coarse mtime clock could hide a change made within the same tick.
    files = [keystore.master_path]
    if keystore.agents_folder.is_dir():
        files += sorted(keystore.agents_folder.glob("*.json"))
    stamps: list[tuple[str, int, int]] = []
    for path in files:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            continue
        stamps.append((path.name, st.st_ino, st.st_mtime_ns))
    return tuple(stamps)


class AccessPolicy:
    """Decides whether a verified issuer may call; see the module docstring for the modes."""

    def __init__(
        self,
        settings: AuthSettings,
        keystore: Keystore,
        *,
        clock: Clock,
        onchain: OnchainCheck | None = None,
        refresh_seconds: float = 1.0,
    ) -> None:
        if settings.policy == "onchain" and onchain is None:
            raise ConfigError("auth.policy 'onchain' needs the chain layer's authority check")
        self._mode = settings.policy
        self._allowed_accounts, self._allowed_addresses = _parse_allow(settings.allow)
        self._keystore = keystore
        self._clock = clock
        self._onchain = onchain
        self._refresh_seconds = refresh_seconds
        self._stamp: _Stamp | None = None
        self._keys = KeyAddresses(frozenset(), frozenset())
        self._checked_at = float("-inf")
        self._reload_lock = trio.Lock()

    async def local_keys(self) -> KeyAddresses:
        """The home's key addresses, re-read when the key files changed (looked at ≤ 1/s)."""
        if self._clock.now() - self._checked_at >= self._refresh_seconds:
            # One reader at a time, so that no caller sees the empty set before the first load.
            async with self._reload_lock:
                now = self._clock.now()
                if now - self._checked_at >= self._refresh_seconds:
                    await trio.to_thread.run_sync(self._reload_if_changed)
                    self._checked_at = now
        return self._keys

    def _reload_if_changed(self) -> None:
        stamp = _stamp(self._keystore)
        if stamp != self._stamp:
            self._keys = self._keystore.addresses()
            self._stamp = stamp

    async def check(self, principal: Principal) -> None:
        """Allow the principal or raise.

        Raises:
            Forbidden: the issuer is not served here, or an admin token is not the master's.
        """
        keys = await self.local_keys()
        pair = (principal.namespace, principal.address)
        if principal.scope == "admin":
            if pair not in keys.master:
                raise Forbidden(
                    "admin tokens are accepted only from this gateway's master key",
                    code="issuer_not_allowed",
                )
            return
        if pair in keys.master or pair in keys.agents or self._mode == "open":
            return
        if self._mode == "allowlist" and (
            pair in self._allowed_addresses or principal.identity in self._allowed_accounts
        ):
            return
        if self._mode == "onchain" and self._onchain is not None and await self._onchain(principal):
            return
        raise Forbidden(
            f"this gateway does not serve this issuer (auth policy: {self._mode})",
            code="issuer_not_allowed",
        )
