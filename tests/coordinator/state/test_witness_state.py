"""The witness keeps its state in the coordinator's database, on either engine, so a second
coordinator process on the same database (a standby taking over) holds the same history."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from coordinator.state.database import open_database
from coordinator.witness import CheckpointWitness, ForkDetected
from node.audit.entry import AccessEntry, Action, Actor
from node.audit.log import AccessLog


def test_checkpoints_and_fork_evidence_survive_the_switch(
    database_url: str, tmp_path: Path
) -> None:
    # prepare: the active coordinator's witness accepts a checkpoint of bank-a's log
    key = Ed25519PrivateKey.generate()
    active = CheckpointWitness(open_database(database_url, tmp_path / "unused"))
    entry = AccessEntry(Actor("Bank A", "bank-a", "trainer"), Action.READ, "training", "ok")
    with AccessLog.open(tmp_path / "log", key, "bank-a") as log:
        log.append_many([entry] * 5)
        checkpoint, proof = log.publication(None)
    active.publish("bank-a", key.public_key(), checkpoint.to_bytes(), proof)
    with AccessLog.open(tmp_path / "forked", key, "bank-a") as forked_log:
        forked_log.append_many([entry] * 4 + [AccessEntry(entry.actor, Action.READ, "x", "y")])
        forked, _ = forked_log.publication(None)
    with pytest.raises(ForkDetected):
        active.publish("bank-a", key.public_key(), forked.to_bytes(), [])
    active.close()
    # execute: the standby opens the same database
    standby = CheckpointWitness(open_database(database_url, tmp_path / "unused"))
    # assert: same latest checkpoint, the evidence was kept although the publish was refused
    assert standby.latest("bank-a") == checkpoint
    assert [e.kind for e in standby.evidence("bank-a")] == ["fork"]
    standby.close()
