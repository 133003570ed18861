"""Who is who on-chain: the owner (the home's master key), its agents, and the operator's payee.

The payee — the key that settlement payments go to and that signs them — is the key whose
address ``settlement.treasury_solana`` / ``settlement.treasury_tempo`` names (it must be one
of the keystore's keys), else the keystore's key labelled ``operator``
(``keys/agents/operator.json``), created on first use. One seed gives both chains' keys, so
the operator has one key for Solana and Tempo alike. Blocking file I/O: call from a thread.
"""

from __future__ import annotations

from gateway.chains._interface import ChainFamily
from gateway.errors import BadRequest, ConfigError, KeystoreError
from gateway.identity import EVM_CHAIN, SOLANA_CHAIN, Keystore, WalletKey
from gateway.identity import ChainFamily as KeyFamily
from gateway.settings._schema import SettlementSettings

__all__ = [
    "OPERATOR_LABEL",
    "Parties",
    "authority_key",
    "chain_of_namespace",
    "key_address",
    "key_family",
    "key_secret",
]

OPERATOR_LABEL = "operator"


def key_family(chain: ChainFamily) -> KeyFamily:
    """The key family that signs on ``chain`` (Tempo is an EVM chain)."""
    return "solana" if chain == "solana" else "evm"


def chain_of_namespace(namespace: str) -> ChainFamily:
    """The chain family of a CAIP-2 namespace (``solana`` or ``eip155``)."""
    return "solana" if namespace == "solana" else "tempo"


def authority_key(chain: ChainFamily, address: str) -> str:
    """The ledger's key for an agent's authority: its CAIP-10 on the canonical chain id."""
    return f"{SOLANA_CHAIN if chain == 'solana' else EVM_CHAIN}:{address}"


def key_address(key: WalletKey, chain: ChainFamily) -> str:
    """The key's address on ``chain``."""
    return key.address(key_family(chain))


def key_secret(key: WalletKey, chain: ChainFamily) -> bytes:
    """The 32-byte secret that signs on ``chain``."""
    return key.solana_secret if chain == "solana" else key.evm_secret


def _same(chain: ChainFamily, a: str, b: str) -> bool:
    return a == b if chain == "solana" else a.lower() == b.lower()


class Parties:
    """The home's keys as the on-chain side sees them."""

    def __init__(self, keystore: Keystore, settlement: SettlementSettings) -> None:
        self.keystore = keystore
        self._settlement = settlement
        self._payees: dict[ChainFamily, WalletKey] = {}

    def owner(self) -> WalletKey:
        """The master key (KeystoreError if there is none)."""
        return self.keystore.master()

    def labels(self) -> list[str]:
        """The labels of the home's agents (the operator key is not an agent)."""
        return [label for label in self.keystore.agents() if label != OPERATOR_LABEL]

    def agent(self, label: str) -> WalletKey:
        """The agent key ``label``."""
        return self.keystore.agent(self._agent_label(label))

    def agent_or_new(self, label: str) -> tuple[WalletKey, bool]:
        """The agent key ``label``, created if missing; True if it was created."""
        if self._agent_label(label) in self.keystore.agents():
            return self.keystore.agent(label), False
        return self.keystore.create_agent(label), True

    @staticmethod
    def _agent_label(label: str) -> str:
        if label == OPERATOR_LABEL:
            raise BadRequest(
                f"the label {OPERATOR_LABEL!r} is reserved for the operator's settlement key",
                param="label",
            )
        return label

    def local_agent(self, chain: ChainFamily, address: str) -> str | None:
        """The label of the home's agent with this address on ``chain``, if any."""
        for label in self.labels():
            if _same(chain, key_address(self.keystore.agent(label), chain), address):
                return label
        return None

    def payee(self, chain: ChainFamily) -> WalletKey:
        """The operator's settlement key on ``chain`` (see the module docstring)."""
        if chain not in self._payees:
            self._payees[chain] = self._find_payee(chain)
        return self._payees[chain]

    def _find_payee(self, chain: ChainFamily) -> WalletKey:
        treasury = (
            self._settlement.treasury_solana
            if chain == "solana"
            else self._settlement.treasury_tempo
        )
        if treasury is None:
            try:
                return self.keystore.agent(OPERATOR_LABEL)
            except KeystoreError:
                try:
                    return self.keystore.create_agent(OPERATOR_LABEL)
                except KeystoreError:  # another process created it first
                    return self.keystore.agent(OPERATOR_LABEL)
        keys = [self.keystore.master()] if self.keystore.has_master() else []
        keys += [self.keystore.agent(label) for label in self.keystore.agents()]
        for key in keys:
            if _same(chain, key_address(key, chain), treasury):
                return key
        raise ConfigError(
            f"settlement.treasury_{chain} {treasury} is not the address of a key in "
            f"{self.keystore.folder}: the treasury's key signs the settlements"
        )
