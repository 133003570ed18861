"""The embedded Solana node as a JSON-RPC server, seen through solana-py's AsyncClient."""

from __future__ import annotations

import inspect
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
import trio
from solana.rpc.async_api import AsyncClient
from solana.rpc.core import RPCException
from solana.rpc.jsonrpc import JsonRpcRequest, SolanaJsonRpcError
from solana.rpc.models import TokenAccountOpts, TxOpts
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.rpc.errors import SendTransactionPreflightFailureMessage
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction
from solders.transaction_status import TransactionConfirmationStatus
from spl.token.instructions import get_associated_token_address

import gateway.chains.solana
import gateway.chains.solana.node
from gateway.chains.solana import NODE_MODULE, SolanaChain
from gateway.chains.solana.node import Node
from gateway.chains.solana.node._journal import Journal, JournalCorrupt
from gateway.chains.solana.program import (
    BPF_LOADER_UPGRADEABLE_ID,
    program_binary,
    programdata_address,
)

SOL = 10**9


async def _node_call(rpc: AsyncClient, method: str, *params: Any) -> Any:
    return await rpc.send_rpc_request(JsonRpcRequest(method=method, params=list(params)), Any)


@pytest.mark.req("SOL-NODE-RPC", "SOL-NODE-CLOCK")
async def test_the_clock_starts_at_wall_time_and_only_moves_forward(
    rpc: AsyncClient, chain: SolanaChain
) -> None:
    start = await chain.chain_time()
    assert abs(start - time.time()) < 300
    with pytest.raises(SolanaJsonRpcError) as backwards:
        await _node_call(rpc, "bitrouter_setClock", start - 10)
    assert "only moves forward" in backwards.value.message
    assert await _node_call(rpc, "bitrouter_advanceClock", 100) >= start + 100
    assert await chain.chain_time() >= start + 100
    target = await chain.chain_time() + 50
    assert await _node_call(rpc, "bitrouter_setClock", target) == target
    assert await chain.chain_time() >= target


@pytest.mark.req("SOL-NODE-RPC")
async def test_standard_methods(rpc: AsyncClient, chain: SolanaChain) -> None:
    assert await rpc.is_connected()
    assert (await rpc.get_version()).value.solana_core
    genesis = (await rpc.get_genesis_hash()).value
    assert genesis == (await rpc.get_genesis_hash()).value
    assert (await rpc.get_minimum_balance_for_rent_exemption(165)).value == 2_039_280

    slot = (await rpc.get_slot()).value
    blockhash = (await rpc.get_latest_blockhash()).value.blockhash
    someone = Keypair().pubkey()
    signature = (await rpc.request_airdrop(someone, SOL // 2)).value
    assert (await rpc.get_balance(someone)).value == SOL // 2
    assert (await rpc.get_slot()).value == slot + 1
    assert (await rpc.get_latest_blockhash()).value.blockhash != blockhash
    status = (await rpc.get_signature_statuses([signature])).value[0]
    assert status is not None and status.err is None
    assert status.confirmation_status == TransactionConfirmationStatus.Finalized
    found = (
        await rpc.get_transaction(signature, "json", max_supported_transaction_version=0)
    ).value
    assert found is not None and found.slot == slot
    assert found.transaction.meta is not None and found.transaction.meta.err is None
    config = await _node_call(rpc, "bitrouter_getConfig")
    assert config["usdc_mint"] == chain.usdc_mint and config["usdc_decimals"] == 6
    assert config["caps_program"] == chain.caps_program


@pytest.mark.req("SOL-NODE-RPC")
async def test_token_accounts_and_history(
    rpc: AsyncClient, chain: SolanaChain, grant_new: Any
) -> None:
    parties = await grant_new(per_tx_cap=2_000_000, cumulative_cap=5_000_000)
    reference = bytes(range(32))
    paid = await chain.pay(parties.payee_secret, parties.owner, parties.agent, 1_000_000, reference)
    account, mint = parties.agent_account, Pubkey.from_string(chain.usdc_mint)

    balance = (await rpc.get_token_account_balance(account)).value
    assert (balance.amount, balance.decimals, balance.ui_amount_string) == ("4000000", 6, "4")
    parsed = (await rpc.get_account_info_json_parsed(account)).value
    assert parsed is not None
    info = parsed.data.parsed["info"]  # type: ignore[union-attr]
    assert info["delegatedAmount"]["amount"] == "4000000"
    owner = Pubkey.from_string(parties.owner)
    owned = (await rpc.get_token_accounts_by_owner(owner, TokenAccountOpts(mint=mint))).value
    assert {item.pubkey for item in owned} == {account, get_associated_token_address(owner, mint)}

    history = (await rpc.get_signatures_for_address(account)).value
    assert str(history[0].signature) == paid.tx_id
    tx = (
        await rpc.get_transaction(history[0].signature, "json", max_supported_transaction_version=0)
    ).value
    assert tx is not None and tx.transaction.meta is not None
    logs = tx.transaction.meta.log_messages or []
    assert any(str(chain.caps_program) in line for line in logs)


@pytest.mark.req("SOL-NODE-DEPLOY")
async def test_the_node_deploys_the_caps_program_through_the_loader(
    rpc: AsyncClient, chain: SolanaChain, solana_node: Any
) -> None:
    config = await _node_call(rpc, "bitrouter_getConfig")
    program = Pubkey.from_string(config["caps_program"])
    assert str(program) == chain.caps_program
    account = (await rpc.get_account_info(program)).value
    assert account is not None and account.executable
    assert account.owner == BPF_LOADER_UPGRADEABLE_ID
    programdata = (await rpc.get_account_info(programdata_address(program))).value
    assert programdata is not None
    assert bytes(programdata.data)[45 : 45 + len(program_binary())] == program_binary()
    saved = orjson.loads((solana_node.home / "chains" / "solana" / "config.json").read_bytes())
    assert saved["caps_program"] == str(program)


@pytest.mark.req("SOL-NODE-RPC", "SOL-NODE-CLOCK")
async def test_refusals_are_json_rpc_errors(rpc: AsyncClient, chain: SolanaChain) -> None:
    payer = Keypair()
    await rpc.request_airdrop(payer.pubkey(), SOL)
    pay = [
        transfer(
            TransferParams(
                from_pubkey=payer.pubkey(), to_pubkey=Keypair().pubkey(), lamports=SOL // 100
            )
        )
    ]

    stale = VersionedTransaction(
        MessageV0.try_compile(payer.pubkey(), pay, [], Hash.new_unique()), [payer]
    )
    with pytest.raises(RPCException) as unknown_blockhash:
        await rpc.send_raw_transaction(bytes(stale))
    error = unknown_blockhash.value.args[0]
    assert isinstance(error, SendTransactionPreflightFailureMessage)
    assert "BlockhashNotFound" in str(error.data.err)

    blockhash = (await rpc.get_latest_blockhash()).value.blockhash
    tx = VersionedTransaction(MessageV0.try_compile(payer.pubkey(), pay, [], blockhash), [payer])
    await rpc.send_raw_transaction(bytes(tx))
    with pytest.raises(RPCException) as twice:
        await rpc.send_raw_transaction(bytes(tx), TxOpts(skip_preflight=True))
    assert "AlreadyProcessed" in str(twice.value.args[0].data.err)

    with pytest.raises(SolanaJsonRpcError) as unknown:
        await _node_call(rpc, "getNothing")
    assert unknown.value.code == -32601


@pytest.mark.req("SOL-NODE-PERSIST")
def test_the_journal_drops_a_torn_tail_and_refuses_corruption(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    journal = Journal(path)
    journal.open()
    journal.write({"k": "clock", "t": 5, "o": 0})
    journal.close()
    with open(path, "ab") as handle:
        handle.write(b'{"k": "tx", "t": 6, "b": "AAA')
    assert Journal(path).read() == [{"k": "clock", "t": 5, "o": 0}]
    assert path.read_bytes().endswith(b"}\n")
    path.write_bytes(b"not json\n" + path.read_bytes())
    with pytest.raises(JournalCorrupt):
        Journal(path).read()


async def _call(node: Node, method: str, *params: Any) -> Any:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}
    answer = orjson.loads(await node.handle(orjson.dumps(body)))
    assert "error" not in answer, answer
    return answer["result"]


@pytest.mark.req("SOL-NODE-PERSIST")
async def test_replay_rebuilds_the_same_chain(tmp_path: Path) -> None:
    owner = str(Keypair().pubkey())
    first = Node(tmp_path)
    await first.start()
    await _call(first, "bitrouter_advanceClock", 3600)
    for _ in range(2):  # the same call twice: a new block each time, so two distinct transactions
        await _call(first, "bitrouter_fundUsdc", owner, 7)
    await _call(first, "requestAirdrop", owner, SOL)
    state = [
        await _call(first, name)
        for name in ("getSlot", "getLatestBlockhash", "bitrouter_getConfig")
    ]
    first.close()

    again = Node(tmp_path)
    await again.start()
    replayed = [
        await _call(again, name)
        for name in ("getSlot", "getLatestBlockhash", "bitrouter_getConfig")
    ]
    assert replayed[0] == state[0] and replayed[1]["value"] == state[1]["value"]
    assert replayed[2]["usdc_mint"] == state[2]["usdc_mint"]
    assert replayed[2]["caps_program"] == state[2]["caps_program"]
    program = await _call(again, "getAccountInfo", state[2]["caps_program"])
    assert program["value"]["executable"]  # the deployment was replayed, not redone
    assert replayed[2]["unix_time"] >= state[2]["unix_time"]  # the advanced clock survived
    assert await _call(again, "getBalance", owner) == {
        "context": {"slot": state[0], "apiVersion": "2.2.0"},
        "value": SOL,
    }
    ata = str(
        get_associated_token_address(
            Pubkey.from_string(owner), Pubkey.from_string(state[2]["usdc_mint"])
        )
    )
    assert (await _call(again, "getTokenAccountBalance", ata))["value"]["amount"] == "14"
    again.close()


@pytest.mark.req("SOL-NODE-LIFETIME")
async def test_the_node_exits_when_idle(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        NODE_MODULE,
        "--state-dir",
        str(tmp_path),
        "--idle-seconds",
        "0.5",
    ]
    process = await trio.to_thread.run_sync(
        lambda: subprocess.run(command, capture_output=True, timeout=60, check=False)
    )
    assert process.returncode == 0, process.stderr
    assert (tmp_path / "config.json").exists()  # it did start
    assert not (tmp_path / "node.json").exists()  # and unpublished itself on the way out


@pytest.mark.parametrize("package", [gateway.chains.solana, gateway.chains.solana.node])
def test_public_names_are_documented(package: Any) -> None:
    assert len(set(package.__all__)) == len(package.__all__)
    for name in package.__all__:
        value = getattr(package, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert value.__doc__, name
