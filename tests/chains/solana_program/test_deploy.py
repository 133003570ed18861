"""Deploying through the upgradeable loader's instructions, sent to LiteSVM."""

from __future__ import annotations

import base64
import json

import httpx2
import pytest
from solana.rpc.async_api import AsyncClient
from solders.hash import Hash
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.signature import Signature
from solders.transaction import Transaction
from solders.transaction_metadata import TransactionMetadata
from solders.transaction_status import TransactionErrorFieldless

from gateway.chains.solana.program import (
    BPF_LOADER_UPGRADEABLE_ID,
    AsyncClientRpc,
    ProgramError,
    deploy_program,
    program_binary,
    programdata_address,
)
from gateway.errors import ChainError

from .conftest import NOW, PER_TX_CAP, make_chain, refused


class LiteSVMRpc:
    """DeployRpc straight onto a LiteSVM instance."""

    def __init__(self, svm: LiteSVM) -> None:
        self.svm = svm
        self.sent = 0

    async def latest_blockhash(self) -> Hash:
        self.svm.expire_blockhash()
        return self.svm.latest_blockhash()

    async def minimum_balance(self, size: int) -> int:
        return self.svm.minimum_balance_for_rent_exemption(size)

    async def send(self, tx: Transaction) -> Signature:
        result = self.svm.send_transaction(tx)
        if not isinstance(result, TransactionMetadata):
            raise ChainError(f"refused: {result.err()}")
        self.sent += 1
        return result.signature()


def _deployed_chain_works(svm: LiteSVM, program_id: object) -> None:
    """Grant and pay through the deployed program; then a per-tx cap refusal."""
    # The loader makes a deployment visible from the next slot on.
    svm.warp_to_slot(svm.get_clock().slot + 1)
    chain = make_chain(svm, program_id)  # type: ignore[arg-type]
    chain.set_time(NOW)
    assert isinstance(chain.grant(), TransactionMetadata)
    chain.ok([chain.pay_instruction(PER_TX_CAP)], chain.payee)
    assert refused(chain.pay(PER_TX_CAP + 1), ProgramError.OVER_PER_TX_CAP)
    assert chain.balance(chain.destination) == PER_TX_CAP


@pytest.mark.req("SOL-PROG-7")
async def test_deploy_through_upgradeable_loader_runs_the_program() -> None:
    svm = LiteSVM()
    rpc = LiteSVMRpc(svm)
    payer, program = Keypair(), Keypair()
    svm.airdrop(payer.pubkey(), 100_000_000_000)
    binary = program_binary()

    program_id = await deploy_program(rpc, payer, program, binary)

    assert program_id == program.pubkey()
    account = svm.get_account(program_id)
    assert account is not None and account.executable
    assert account.owner == BPF_LOADER_UPGRADEABLE_ID
    programdata = svm.get_account(programdata_address(program_id))
    assert programdata is not None
    # ProgramData = tag, slot, optional upgrade authority (the payer), then the bytes.
    data = bytes(programdata.data)
    assert data[13:45] == bytes(payer.pubkey())
    assert data[45 : 45 + len(binary)] == binary
    assert len(data) == 45 + 2 * len(binary)
    # Buffer, writes of 1012 bytes (a payer-signed Write then fills a 1232-byte packet), deploy.
    assert rpc.sent == 2 + -(-len(binary) // 1012)
    _deployed_chain_works(svm, program_id)


@pytest.mark.req("SOL-PROG-7")
async def test_deploy_failure_is_a_chain_error() -> None:
    svm = LiteSVM()
    payer = Keypair()  # never funded
    with pytest.raises(ChainError):
        await deploy_program(LiteSVMRpc(svm), payer, Keypair(), program_binary())


def _json_rpc_on(svm: LiteSVM) -> httpx2.MockTransport:
    """The four JSON-RPC methods a deploy uses, answered from LiteSVM."""
    statuses: dict[str, object] = {}

    def handle(request: httpx2.Request) -> httpx2.Response:
        call = json.loads(request.content)
        method, params = call["method"], call.get("params", [])
        context = {"slot": svm.get_clock().slot}
        if method == "getLatestBlockhash":
            svm.expire_blockhash()
            value: object = {"blockhash": str(svm.latest_blockhash()), "lastValidBlockHeight": 1}
            result: object = {"context": context, "value": value}
        elif method == "getMinimumBalanceForRentExemption":
            result = svm.minimum_balance_for_rent_exemption(params[0])
        elif method == "sendTransaction":
            tx = Transaction.from_bytes(base64.b64decode(params[0]))
            outcome = svm.send_transaction(tx)
            if not isinstance(outcome, TransactionMetadata):
                # As a node's preflight does: a JSON-RPC error, nothing recorded.
                err = outcome.err()
                simulated: dict[str, object] = {
                    "err": str(err).rsplit(".", 1)[-1]
                    if isinstance(err, TransactionErrorFieldless)
                    else None,
                    "logs": [],
                    "accounts": None,
                    "unitsConsumed": 0,
                    "returnData": None,
                }
                message = f"Transaction simulation failed: {err}"
                error = {"code": -32002, "message": message, "data": simulated}
                return httpx2.Response(
                    200, json={"jsonrpc": "2.0", "id": call["id"], "error": error}
                )
            statuses[str(tx.signatures[0])] = {
                "slot": context["slot"],
                "confirmations": None,
                "err": None,
                "status": {"Ok": None},
                "confirmationStatus": "confirmed",
            }
            result = str(tx.signatures[0])
        elif method == "getSignatureStatuses":
            result = {"context": context, "value": [statuses.get(s) for s in params[0]]}
        else:
            raise AssertionError(f"unexpected RPC method {method}")
        body = {"jsonrpc": "2.0", "id": call["id"], "result": result}
        return httpx2.Response(200, json=body)

    return httpx2.MockTransport(handle)


@pytest.mark.req("SOL-PROG-7")
async def test_deploy_through_the_solana_async_client() -> None:
    svm = LiteSVM()
    payer, program = Keypair(), Keypair()
    svm.airdrop(payer.pubkey(), 100_000_000_000)
    client = AsyncClient("http://rpc.invalid")
    # The real client and its request/response parsing; only the socket is replaced.
    client._provider.session = httpx2.AsyncClient(transport=_json_rpc_on(svm))
    async with client:
        program_id = await deploy_program(AsyncClientRpc(client), payer, program, program_binary())
    _deployed_chain_works(svm, program_id)


@pytest.mark.req("SOL-PROG-7")
async def test_a_refused_deploy_through_the_client_is_a_chain_error() -> None:
    svm = LiteSVM()
    client = AsyncClient("http://rpc.invalid")
    client._provider.session = httpx2.AsyncClient(transport=_json_rpc_on(svm))
    async with client:
        with pytest.raises(ChainError, match="refused a deploy transaction"):
            await deploy_program(AsyncClientRpc(client), Keypair(), Keypair(), program_binary())
