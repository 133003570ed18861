"""Identity: wallet keys, self-signed tokens and their verification, shared by every face.

Typical use in a face::

    principal = await verifier.verify(bearer_token(request.headers.get("authorization")),
                                      scope="api")
    verifier.check_model(principal, resolved_model_id)   # before anything is reserved
"""

from gateway.identity._caip import Account, parse_account, parse_address
from gateway.identity._claims import (
    BudgetRange,
    BudgetScope,
    Claims,
    DurationRange,
    RoundsRange,
    Scope,
)
from gateway.identity._clock import Clock, SystemClock
from gateway.identity._globs import canonical_model_id, model_allowed, tool_allowed
from gateway.identity._issue import issue_claims, new_jti
from gateway.identity._jwt import TokenCodec, VerifiedToken, read_unverified, token_hash
from gateway.identity._keys import (
    EVM_CHAIN,
    SOLANA_CHAIN,
    ChainFamily,
    WalletKey,
    derive_evm_secret,
)
from gateway.identity._keystore import KeyAddresses, Keystore
from gateway.identity._mint import mint_token
from gateway.identity._policy import AccessPolicy, OnchainCheck
from gateway.identity._principal import Principal
from gateway.identity._revocation import (
    MemoryRevocationStore,
    Revocation,
    RevocationStore,
    revocation_key,
)
from gateway.identity._session import session_token
from gateway.identity._token_files import TokenFiles
from gateway.identity._verifier import Verifier, bearer_token

__all__ = [
    "EVM_CHAIN",
    "SOLANA_CHAIN",
    "AccessPolicy",
    "Account",
    "BudgetRange",
    "BudgetScope",
    "ChainFamily",
    "Claims",
    "Clock",
    "DurationRange",
    "KeyAddresses",
    "Keystore",
    "MemoryRevocationStore",
    "OnchainCheck",
    "Principal",
    "Revocation",
    "RevocationStore",
    "RoundsRange",
    "Scope",
    "SystemClock",
    "TokenCodec",
    "TokenFiles",
    "VerifiedToken",
    "Verifier",
    "WalletKey",
    "bearer_token",
    "canonical_model_id",
    "derive_evm_secret",
    "issue_claims",
    "mint_token",
    "model_allowed",
    "new_jti",
    "parse_account",
    "parse_address",
    "read_unverified",
    "revocation_key",
    "session_token",
    "token_hash",
    "tool_allowed",
]
