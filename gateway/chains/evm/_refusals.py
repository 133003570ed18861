"""Turn what an EVM chain answered into a one-line ChainError: which call, refused why.

A contract refusal comes back as revert data: a 4-byte selector of a custom error (decoded from
the ABIs of our contracts, so ``PerTxCapExceeded(amount=…, perTxCap=…)`` rather than hex),
``Error(string)``, or ``Panic(uint256)``. The error's name also becomes the ChainError's
``code`` in snake case (``per_tx_cap_exceeded``, ``reference_used``…), so a caller can tell a
reused reference from a cap without parsing text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from eth_abi.abi import decode
from eth_abi.exceptions import DecodingError
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from gateway.errors import ChainError

__all__ = ["RevertDecoder", "refused"]

_EXPLAIN: Mapping[str, str] = {
    "NoAuthority": "there is no authority for this owner and agent",
    "NotPayee": "the sender is not the authority's payee",
    "Revoked": "the owner revoked the authority",
    "Expired": "the authority expired",
    "ZeroAmount": "the amount is zero",
    "PerTxCapExceeded": "the amount is over the per-payment cap",
    "CumulativeCapExceeded": "the amount would pass the cumulative cap",
    "ReferenceUsed": "this payment reference was already used",
    "InvalidCaps": "the per-payment cap must be positive and at most the cumulative cap",
    "ExpiryNotInFuture": "the expiry must be in the future",
    "ZeroAddress": "an address is zero",
    "TransferFailed": "the token refused the transfer",
    "ERC20InsufficientBalance": "the owner's USDC balance is too low",
    "ERC20InsufficientAllowance": "the owner's USDC allowance to the contract is too low",
    "NotMinter": "only the faucet may mint test USDC",
}


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower().removeprefix("erc20_")


def _format(kind: str, value: Any) -> str:
    if kind == "address":
        return str(to_checksum_address(value))
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


class RevertDecoder:
    """Knows the custom errors of a set of contract ABIs."""

    def __init__(self, abis: Iterable[list[dict[str, Any]]]) -> None:
        self._errors: dict[bytes, tuple[str, list[str], list[str]]] = {}
        for abi in abis:
            for item in abi:
                if item.get("type") != "error":
                    continue
                types = [arg["type"] for arg in item["inputs"]]
                names = [arg["name"] for arg in item["inputs"]]
                selector = keccak(f"{item['name']}({','.join(types)})".encode())[:4]
                self._errors[selector] = (item["name"], types, names)

    def describe(self, data: bytes) -> tuple[str, str]:
        """(error name, ``Name(arg=value, …)``) of revert ``data``."""
        selector, body = data[:4], data[4:]
        try:
            if selector == keccak(b"Error(string)")[:4]:
                (reason,) = decode(["string"], body)
                return "Error", f"Error({reason!r})"
            if selector == keccak(b"Panic(uint256)")[:4]:
                (code,) = decode(["uint256"], body)
                return "Panic", f"Panic({code:#x})"
            known = self._errors.get(selector)
            if known is not None:
                name, types, names = known
                values = decode(types, body)
                args = ", ".join(
                    f"{n}={_format(t, v)}" for t, n, v in zip(types, names, values, strict=True)
                )
                return name, f"{name}({args})"
        except DecodingError:
            pass
        if not data:
            return "Reverted", "reverted without a reason"
        return "Reverted", f"unknown error 0x{data.hex()}"

    def error(self, action: str, data: bytes) -> ChainError:
        """The ChainError for a refused ``action`` with revert ``data``."""
        name, detail = self.describe(data)
        why = _EXPLAIN.get(name)
        text = f"tempo refused the {action}: {detail}" + (f" — {why}" if why else "")
        return ChainError(text, code=_snake(name))


def refused(action: str, reason: str, code: str = "chain_refused") -> ChainError:
    """A ChainError for a refusal that carries no revert data (e.g. the node's own checks)."""
    return ChainError(f"tempo refused the {action}: {reason}", code=code)
