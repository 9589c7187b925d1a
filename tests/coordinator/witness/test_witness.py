"""The checkpoint witness accepts one linear history per node and refuses forks."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from coordinator.witness import (
    CheckpointRefused,
    CheckpointWitness,
    ForkDetected,
    InconsistentCheckpoint,
    StaleCheckpoint,
)
from node.audit.checkpoint import Checkpoint, sign_checkpoint
from node.audit.entry import AccessEntry, Action, Actor
from node.audit.log import AccessLog
from node.audit.merkle import EMPTY_ROOT


def _entry(i: int) -> AccessEntry:
    return AccessEntry(Actor("Bank A", "bank-a", "trainer"), Action.READ, "training", f"ok {i}")


@pytest.fixture
def key() -> Ed25519PrivateKey:
    """The node's checkpoint key."""
    return Ed25519PrivateKey.generate()


@pytest.fixture
def witness(tmp_path: Path) -> CheckpointWitness:
    """A witness with its own SQLite file."""
    return CheckpointWitness(tmp_path / "witness.sqlite")


def test_linear_history_is_accepted_and_survives_restart(
    tmp_path: Path, key: Ed25519PrivateKey, witness: CheckpointWitness
) -> None:
    # prepare
    with AccessLog.open(tmp_path / "log", key, "bank-a") as log:
        for step in range(3):
            log.append_many([_entry(i) for i in range(step * 7 + 1)])
            held = witness.accepted_size("bank-a")
            cp, proof = log.publication(held)

            # execute
            accepted = witness.publish("bank-a", key.public_key(), cp.to_bytes(), proof)

            # assert
            assert accepted == cp.size
        final = cp
    witness.close()
    again = CheckpointWitness(tmp_path / "witness.sqlite")
    assert again.latest("bank-a") == final
    assert again.evidence() == []


def test_same_size_other_root_is_a_fork(
    tmp_path: Path, key: Ed25519PrivateKey, witness: CheckpointWitness
) -> None:
    # prepare: two logs with the same origin and key, diverging at entry 2
    with (
        AccessLog.open(tmp_path / "a", key, "bank-a") as a,
        AccessLog.open(tmp_path / "b", key, "bank-a") as b,
    ):
        a.append_many([_entry(0), _entry(1), _entry(2)])
        b.append_many([_entry(0), _entry(1), _entry(99)])
        cp_a, cp_b = a.checkpoint(), b.checkpoint()
    witness.publish("bank-a", key.public_key(), cp_a.to_bytes())

    # execute
    with pytest.raises(ForkDetected) as err:
        witness.publish("bank-a", key.public_key(), cp_b.to_bytes())

    # assert
    assert err.value.size == 3
    assert witness.latest("bank-a") == cp_a
    [evidence] = witness.evidence("bank-a")
    assert evidence.kind == "fork" and evidence.held == cp_a and evidence.offered == cp_b


def test_checkpoint_inconsistent_with_previous_is_refused(
    tmp_path: Path, key: Ed25519PrivateKey, witness: CheckpointWitness
) -> None:
    # prepare: a node that rewrote entry 1 after its size-3 checkpoint was witnessed
    with AccessLog.open(tmp_path / "a", key, "bank-a") as a:
        a.append_many([_entry(0), _entry(1), _entry(2)])
        witnessed = a.checkpoint()
    witness.publish("bank-a", key.public_key(), witnessed.to_bytes())
    with AccessLog.open(tmp_path / "b", key, "bank-a") as b:
        b.append_many([_entry(0), _entry(42), _entry(2), _entry(3), _entry(4)])
        rewritten, proof = b.publication(witnessed.size)

    # execute
    with pytest.raises(InconsistentCheckpoint) as err:
        witness.publish("bank-a", key.public_key(), rewritten.to_bytes(), proof)

    # assert
    assert (err.value.held_size, err.value.offered_size) == (3, 5)
    assert witness.latest("bank-a") == witnessed
    assert [e.kind for e in witness.evidence("bank-a")] == ["inconsistent"]


def test_missing_proof_is_refused(
    tmp_path: Path, key: Ed25519PrivateKey, witness: CheckpointWitness
) -> None:
    # prepare
    with AccessLog.open(tmp_path / "a", key, "bank-a") as a:
        a.append_many([_entry(0), _entry(1), _entry(2)])
        first = a.checkpoint()
        a.append(_entry(3))
        second = a.checkpoint()
    witness.publish("bank-a", key.public_key(), first.to_bytes())

    # execute / assert
    with pytest.raises(InconsistentCheckpoint):
        witness.publish("bank-a", key.public_key(), second.to_bytes(), [])


def test_rollback_is_refused(
    tmp_path: Path, key: Ed25519PrivateKey, witness: CheckpointWitness
) -> None:
    # prepare
    with AccessLog.open(tmp_path / "a", key, "bank-a") as a:
        a.append_many([_entry(0), _entry(1)])
        small = a.checkpoint()
        a.append(_entry(2))
        big, proof = a.publication(small.size)
    witness.publish("bank-a", key.public_key(), small.to_bytes())
    witness.publish("bank-a", key.public_key(), big.to_bytes(), proof)

    # execute / assert
    with pytest.raises(StaleCheckpoint):
        witness.publish("bank-a", key.public_key(), small.to_bytes())


def test_bad_signature_other_origin_and_garbage_are_refused(
    key: Ed25519PrivateKey, witness: CheckpointWitness
) -> None:
    # prepare
    cp = Checkpoint("bank-a", 0, EMPTY_ROOT, "2026-11-29T07:00:00.000000Z")
    forged = sign_checkpoint(cp, Ed25519PrivateKey.generate()).to_bytes()
    good = sign_checkpoint(cp, key).to_bytes()

    # execute / assert
    with pytest.raises(CheckpointRefused):
        witness.publish("bank-a", key.public_key(), forged)
    with pytest.raises(CheckpointRefused):
        witness.publish("bank-b", key.public_key(), good)
    with pytest.raises(CheckpointRefused):
        witness.publish("bank-a", key.public_key(), b"hello")
    assert witness.latest("bank-a") is None
