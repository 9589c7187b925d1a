"""Checkpoints at rest: sealed under the coordinator's key, bound to their row, deletable."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from coordinator.state import CoordinatorStore
from coordinator.state.sealing import SealedSecretError, SecretBox

SECRET = b"p and q of a Paillier key" * 4


def _store(tmp_path: Path) -> CoordinatorStore:
    return CoordinatorStore(tmp_path / "coordinator.sqlite", SecretBox(bytes(range(32))))


def test_checkpoints_are_stored_sealed_and_read_back(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.save_checkpoint("job-1", "paillier-key", SECRET)
    assert store.load_checkpoint("job-1", "paillier-key") == SECRET
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("coordinator.sqlite*"))
    assert SECRET not in raw
    assert stat.S_IMODE((tmp_path / "coordinator.sqlite").stat().st_mode) == 0o600


def test_a_sealed_blob_moved_to_another_row_or_key_does_not_open(tmp_path: Path) -> None:
    box = SecretBox(bytes(range(32)))
    blob = box.seal(SECRET, b"job-1/paillier-key")
    with pytest.raises(SealedSecretError):
        box.open(blob, b"job-2/paillier-key")
    with pytest.raises(SealedSecretError):
        SecretBox(bytes(32)).open(blob, b"job-1/paillier-key")
    with pytest.raises(SealedSecretError):
        box.open(b"\x02" + blob[1:], b"job-1/paillier-key")


def test_a_checkpoint_that_does_not_open_reads_as_missing(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.save_checkpoint("job-1", "latest", b"3")
    store.close()
    # the coordinator's keys were re-issued: the derived at-rest key differs
    other = CoordinatorStore(tmp_path / "coordinator.sqlite", SecretBox(bytes(32)))
    assert other.load_checkpoint("job-1", "latest") is None


def test_the_at_rest_key_is_derived_from_the_coordinator_key(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    blob = SecretBox.for_coordinator(key).seal(SECRET, b"ctx")
    assert SecretBox.for_coordinator(key).open(blob, b"ctx") == SECRET  # a standby, same key
    with pytest.raises(SealedSecretError):
        SecretBox.for_coordinator(Ed25519PrivateKey.generate()).open(blob, b"ctx")


def test_checkpoints_are_deleted_by_name_or_all(tmp_path: Path) -> None:
    store = _store(tmp_path)
    for name in ("paillier-key", "epoch-1", "latest"):
        store.save_checkpoint("job-1", name, b"x")
    assert store.delete_checkpoints("job-1", ["paillier-key"]) == 1
    assert store.load_checkpoint("job-1", "paillier-key") is None
    assert store.load_checkpoint("job-1", "latest") == b"x"
    assert store.delete_checkpoints("job-1") == 2
