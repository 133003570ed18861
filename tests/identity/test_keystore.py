from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from gateway.errors import KeystoreError
from gateway.identity import Keystore, WalletKey


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.req("AUTH-KEY-1")
def test_generate_master_writes_a_private_seed_file(home: Path) -> None:
    store = Keystore(home)
    key, backup = store.generate_master()
    assert backup is None
    assert mode(store.folder) == 0o700 and mode(store.master_path) == 0o600
    data = json.loads(store.master_path.read_text())
    assert data["version"] == 1 and data["kind"] == "master"
    assert WalletKey(bytes.fromhex(data["seed"])).solana_address == key.solana_address
    assert store.master().evm_address == key.evm_address
    assert [p.name for p in store.folder.iterdir()] == ["master.json"]  # no temp file left


@pytest.mark.req("AUTH-KEY-1")
def test_seeds_are_random(tmp_path: Path) -> None:
    addresses = {Keystore(tmp_path / str(i)).generate_master()[0].solana_address for i in range(3)}
    assert len(addresses) == 3


@pytest.mark.req("AUTH-KEY-1")
def test_refuses_to_overwrite_without_force(home: Path) -> None:
    store = Keystore(home)
    first, _ = store.generate_master()
    with pytest.raises(KeystoreError, match=r"already exists in .*; use --force"):
        store.generate_master()
    assert store.master().solana_address == first.solana_address


@pytest.mark.req("AUTH-KEY-1")
def test_force_replaces_and_keeps_a_backup(home: Path) -> None:
    store = Keystore(home)
    first, _ = store.generate_master()
    old_bytes = store.master_path.read_bytes()
    second, backup = store.generate_master(force=True)
    assert backup is not None and backup.parent == store.folder
    assert backup.read_bytes() == old_bytes and mode(backup) == 0o600
    assert store.master().solana_address == second.solana_address != first.solana_address


def test_loose_modes_are_tightened_on_load(keystore: Keystore) -> None:
    keystore.master_path.chmod(0o644)
    keystore.master()
    assert mode(keystore.master_path) == 0o600


def test_missing_master_says_how_to_create_it(home: Path) -> None:
    with pytest.raises(KeystoreError, match="bitrouter account --generate-key"):
        Keystore(home).master()


@pytest.mark.req("AUTH-SEC-1")
def test_corrupt_key_file_error_does_not_show_its_content(keystore: Keystore) -> None:
    secret_looking = "ab" * 31
    keystore.master_path.write_text(
        json.dumps({"version": 1, "kind": "master", "seed": secret_looking})
    )
    with pytest.raises(KeystoreError, match="not a valid master key file") as info:
        keystore.master()
    assert secret_looking not in info.value.message


@pytest.mark.req("AUTH-KEY-3")
def test_agents_by_label(keystore: Keystore) -> None:
    coder = keystore.create_agent("my-coding-agent")
    other = keystore.create_agent("b.2")
    assert keystore.agents() == ["b.2", "my-coding-agent"]
    assert keystore.agent("my-coding-agent").solana_address == coder.solana_address
    assert mode(keystore.agents_folder) == 0o700
    assert mode(keystore.agents_folder / "b.2.json") == 0o600
    addresses = keystore.addresses()
    master = keystore.master()
    assert ("solana", master.solana_address) in addresses.master
    assert ("eip155", other.evm_address) in addresses.agents
    assert ("eip155", other.evm_address) not in addresses.master


@pytest.mark.req("AUTH-KEY-3")
def test_agent_labels_are_unique_and_well_formed(keystore: Keystore) -> None:
    keystore.create_agent("a")
    with pytest.raises(KeystoreError, match="already exists"):
        keystore.create_agent("a")
    for bad in ("../evil", "", "-x", "a b", "ä"):
        with pytest.raises(KeystoreError, match="label"):
            keystore.create_agent(bad)
    with pytest.raises(KeystoreError, match="no agent key labelled 'nope'"):
        keystore.agent("nope")
