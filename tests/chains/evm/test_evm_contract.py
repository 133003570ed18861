"""SpendingAuthority enforces its limits on-chain: refusals proven with raw transactions.

These tests never go through EvmChain's dry runs: each payment is signed and sent with an
explicit gas limit, mined, and must come back with status 0; replaying the same call then shows
the contract's custom error. Balances prove that nothing moved.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractCustomError
from web3.types import TxParams, Wei

from gateway.chains._daemon import running_node
from gateway.chains.evm._artifacts import load_artifact
from gateway.chains.evm.node import DEPLOYER_KEY


class Chain:
    """The module's node through plain web3: contracts, funded accounts, raw transactions."""

    def __init__(self, url: str) -> None:
        self.session = requests.Session()
        self.w3 = Web3(Web3.HTTPProvider(url, session=self.session))
        info = self.w3.provider.make_request("bitrouter_contracts", [])["result"]  # type: ignore[arg-type]
        self.usdc = self.w3.eth.contract(address=info["usdc"], abi=load_artifact("TestUSDC").abi)
        authority_abi = load_artifact("SpendingAuthority").abi
        self.authority = self.w3.eth.contract(address=info["authority"], abi=authority_abi)
        self.errors = {
            keccak(text=f"{e['name']}({','.join(i['type'] for i in e['inputs'])})")[:4]: e["name"]
            for e in authority_abi + load_artifact("TestUSDC").abi
            if e["type"] == "error"
        }

    def now(self) -> int:
        """The chain's current time (the node answers a clock move with it)."""
        return int(self.w3.provider.make_request("evm_increaseTime", [0])["result"])  # type: ignore[arg-type]

    def send(self, sender: LocalAccount, call: ContractFunction) -> Any:
        """Sign and send ``call`` with a fixed gas limit (no estimate, no dry run); its receipt."""
        fields: TxParams = {
            "from": sender.address,
            "gas": 300_000,
            "maxFeePerGas": Wei(0),
            "maxPriorityFeePerGas": Wei(0),
            "chainId": self.w3.eth.chain_id,
            "nonce": self.w3.eth.get_transaction_count(sender.address),
        }
        tx: Any = call.build_transaction(fields)
        tx_hash = self.w3.eth.send_raw_transaction(sender.sign_transaction(tx).raw_transaction)
        return self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=10)

    def refusal(self, sender: LocalAccount, call: ContractFunction) -> str:
        """Send ``call``; it must be mined and reverted. The contract error's name."""
        receipt = self.send(sender, call)
        assert receipt["status"] == 0, "the chain accepted a payment it should refuse"
        with pytest.raises(ContractCustomError) as error:
            call.call({"from": sender.address})
        return str(self.errors[bytes.fromhex(str(error.value.data)[2:10])])

    def owner_with_authority(
        self, per_tx: int, cumulative: int, expires_at: int
    ) -> tuple[LocalAccount, LocalAccount, LocalAccount]:
        """(owner, agent, payee): the faucet funds the owner, who approves and grants."""
        owner, agent, payee = Account.create(), Account.create(), Account.create()
        self.w3.provider.make_request("bitrouter_fund", [owner.address, 10_000])  # type: ignore[arg-type]
        assert (
            self.send(owner, self.usdc.functions.approve(self.authority.address, 10_000))["status"]
            == 1
        )
        grant = self.authority.functions.grant(
            agent.address, self.usdc.address, payee.address, per_tx, cumulative, expires_at
        )
        assert self.send(owner, grant)["status"] == 1
        return owner, agent, payee

    def pay(
        self, owner: LocalAccount, agent: LocalAccount, amount: int, ref: bytes | None = None
    ) -> ContractFunction:
        """The pay call (not sent)."""
        call: ContractFunction = self.authority.functions.pay(
            owner.address, agent.address, amount, ref if ref is not None else os.urandom(32)
        )
        return call

    def balance(self, account: LocalAccount) -> int:
        """USDC balance."""
        return int(self.usdc.functions.balanceOf(account.address).call())


@pytest.fixture(scope="module")
def chain(evm_home: Path) -> Iterator[Chain]:
    """Plain web3 on the module's node."""
    url = running_node(evm_home, "tempo")
    assert url is not None
    chain = Chain(url)
    yield chain
    chain.session.close()


@pytest.mark.req("EVM-AUTH-2")
@pytest.mark.req("EVM-NODE-1")
def test_payment_over_the_per_payment_cap_is_refused(chain: Chain) -> None:
    owner, agent, payee = chain.owner_with_authority(100, 1_000, chain.now() + 86_400)
    assert chain.refusal(payee, chain.pay(owner, agent, 101)) == "PerTxCapExceeded"
    assert chain.send(payee, chain.pay(owner, agent, 100))["status"] == 1
    assert (chain.balance(owner), chain.balance(payee)) == (9_900, 100)


@pytest.mark.req("EVM-AUTH-3")
def test_cumulative_cap_allows_exactly_the_cap_and_not_one_unit_more(chain: Chain) -> None:
    owner, agent, payee = chain.owner_with_authority(600, 1_000, chain.now() + 86_400)
    assert chain.send(payee, chain.pay(owner, agent, 600))["status"] == 1
    assert chain.refusal(payee, chain.pay(owner, agent, 401)) == "CumulativeCapExceeded"
    assert chain.send(payee, chain.pay(owner, agent, 400))["status"] == 1
    assert chain.refusal(payee, chain.pay(owner, agent, 1)) == "CumulativeCapExceeded"
    assert (chain.balance(owner), chain.balance(payee)) == (9_000, 1_000)
    paid = chain.authority.functions.authorityOf(owner.address, agent.address).call()[6]
    assert paid == 1_000


@pytest.mark.req("EVM-AUTH-4")
def test_payment_after_the_expiry_is_refused(chain: Chain) -> None:
    owner, agent, payee = chain.owner_with_authority(100, 1_000, chain.now() + 1_000)
    assert chain.send(payee, chain.pay(owner, agent, 10))["status"] == 1
    chain.w3.provider.make_request("evm_increaseTime", [2_000])  # type: ignore[arg-type]
    assert chain.refusal(payee, chain.pay(owner, agent, 10)) == "Expired"
    assert chain.authority.functions.spendable(owner.address, agent.address).call() == 0
    assert chain.balance(payee) == 10


@pytest.mark.req("EVM-AUTH-5")
def test_payment_after_revoke_is_refused(chain: Chain) -> None:
    owner, agent, payee = chain.owner_with_authority(100, 1_000, chain.now() + 86_400)
    assert chain.send(payee, chain.pay(owner, agent, 10))["status"] == 1
    assert chain.send(owner, chain.authority.functions.revoke(agent.address))["status"] == 1
    assert chain.refusal(payee, chain.pay(owner, agent, 10)) == "Revoked"
    assert chain.balance(payee) == 10


@pytest.mark.req("EVM-AUTH-6")
def test_payment_signed_by_anyone_but_the_payee_is_refused(chain: Chain) -> None:
    owner, agent, _ = chain.owner_with_authority(100, 1_000, chain.now() + 86_400)
    stranger = Account.create()
    assert chain.refusal(stranger, chain.pay(owner, agent, 10)) == "NotPayee"
    assert chain.refusal(agent, chain.pay(owner, agent, 10)) == "NotPayee"
    assert chain.balance(owner) == 10_000


@pytest.mark.req("EVM-AUTH-7")
def test_a_reference_is_accepted_once(chain: Chain) -> None:
    owner, agent, payee = chain.owner_with_authority(100, 1_000, chain.now() + 86_400)
    ref = os.urandom(32)
    assert chain.send(payee, chain.pay(owner, agent, 10, ref))["status"] == 1
    assert chain.refusal(payee, chain.pay(owner, agent, 10, ref)) == "ReferenceUsed"
    assert chain.refusal(payee, chain.pay(owner, agent, 20, ref)) == "ReferenceUsed"
    payee_of, _, amount = chain.authority.functions.paymentOf(
        owner.address, agent.address, ref
    ).call()
    assert (payee_of, amount, chain.balance(payee)) == (payee.address, 10, 10)


@pytest.mark.req("EVM-USDC-1")
def test_only_the_faucet_mints_test_usdc(chain: Chain) -> None:
    someone = Account.create()
    assert chain.refusal(someone, chain.usdc.functions.mint(someone.address, 1)) == "NotMinter"
    deployer = Account.from_key(DEPLOYER_KEY)
    assert chain.usdc.functions.minter().call() == deployer.address
    assert chain.usdc.functions.decimals().call() == 6
