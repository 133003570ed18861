"""A JSON-RPC error the node answers with.

It never leaves the node process: it is the wire-level error object of a Solana RPC node (code,
message, data), not a gateway error, so it sits outside ``gateway.errors`` on purpose.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["RpcFault", "describe_err", "preflight_fault"]

INVALID_PARAMS = -32602
PREFLIGHT_FAILURE = -32002
SIGNATURE_FAILURE = -32003


class RpcFault(Exception):
    """Answer the request with this JSON-RPC error."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        """The ``error`` member of a JSON-RPC response."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def _words(name: str) -> str:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    return spaced[:1].upper() + spaced[1:].lower()


def describe_err(err: Any) -> str:
    """A TransactionError (JSON form) in the words a Solana validator uses."""
    if isinstance(err, str):
        return _words(err)
    if isinstance(err, dict) and "InstructionError" in err:
        index, inner = err["InstructionError"]
        if isinstance(inner, dict) and "Custom" in inner:
            detail = f"custom program error: {inner['Custom']:#x}"
        else:
            detail = _words(inner if isinstance(inner, str) else next(iter(inner)))
        return f"Error processing Instruction {index}: {detail}"
    if isinstance(err, dict) and err:
        return _words(next(iter(err)))
    return str(err)


def preflight_fault(err: Any, logs: list[str], units: int) -> RpcFault:
    """The error ``sendTransaction`` gives when its preflight simulation fails."""
    if err == "SignatureFailure":
        return RpcFault(SIGNATURE_FAILURE, "Transaction signature verification failure")
    data = {
        "err": err,
        "logs": logs,
        "accounts": None,
        "unitsConsumed": units,
        "returnData": None,
        "innerInstructions": None,
        "replacementBlockhash": None,
    }
    return RpcFault(PREFLIGHT_FAILURE, f"Transaction simulation failed: {describe_err(err)}", data)
