"""Failover over real processes: two coordinators on one PostgreSQL database, three bank nodes
configured with both addresses. The active coordinator is killed mid-job; the standby takes
the lease, the nodes reconnect to it, the job resumes from its checkpoints and finishes with
the same model as a run nobody interrupted, and the witness still holds every node's log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from coordinator.local.standby import CoordinatorPair
from coordinator.state.database import open_database
from coordinator.witness import CheckpointWitness
from tests.federation_fixtures import default_credit_banks, wait_for_progress
from tests.postgres_fixtures import fresh_database, postgres_server

__all__ = ["postgres_server"]

# Two whole horizontal runs on real processes: longer than the default per-test timeout.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

BANKS = ("bank_a", "bank_b", "bank_c")
# Every bank in every round (quorum 3), so the resumed run must repeat the same rounds exactly.
JOB = """
type: horizontal
parties:
  bank_a: {dataset: bank_a, label: y}
  bank_b: {dataset: bank_b, label: y}
  bank_c: {dataset: bank_c, label: y}
horizontal:
  model: {kind: lr}
  rounds: 6
  quorum: 3
  learning_rate: 0.1
"""


def run(root: Path, data: Path, url: str, kill_after_round: int | None) -> dict[str, Any]:
    fed = default_credit_banks(root, data)
    pair = CoordinatorPair(fed, url)
    outcome: dict[str, Any] = {}
    try:
        pair.start()
        for bank in BANKS:
            fed.start_node(bank)
        fed.wait_online(list(BANKS), timeout=120)
        fed.submit(JOB, job_id="hfl")
        if kill_after_round is not None:
            wait_for_progress(fed, "hfl", "round", kill_after_round)
            outcome["witnessed"] = witnessed(url)
            killed = pair.kill_active()
            outcome["failover_s"] = pair.wait_takeover() - killed
        outcome["status"] = fed.wait_job("hfl", timeout=900)
        outcome["witnessed_after"] = witnessed(url)
    finally:
        for bank in BANKS:
            fed.stop_party(bank)
        pair.stop()
    return outcome


def witnessed(url: str) -> dict[str, int]:
    witness = CheckpointWitness(open_database(url, Path("unused")))
    try:
        sizes = {bank: witness.accepted_size(bank) for bank in BANKS}
    finally:
        witness.close()
    return {bank: size for bank, size in sizes.items() if size is not None}


def test_standby_takes_over_mid_job_and_the_job_finishes_as_if_uninterrupted(
    tmp_path: Path, default_credit_dir: Path, postgres_server: str
) -> None:
    # prepare: the same job once without interruption
    calm = run(tmp_path / "calm", default_credit_dir, fresh_database(postgres_server), None)
    # execute: and once with the active coordinator killed after round 2
    url = fresh_database(postgres_server)
    stormy = run(tmp_path / "stormy", default_credit_dir, url, kill_after_round=2)
    # assert: the job finished on the standby, in a second attempt, from a checkpoint
    status = stormy["status"]
    assert status.state == "succeeded", status.error
    assert status.attempt == 2
    result, reference = json.loads(status.result_json), json.loads(calm["status"].result_json)
    assert result["coordinator"]["start_round"] >= 1
    # the same final model: identical validation metrics in the last round, at every bank
    assert result["coordinator"]["history"][-1] == reference["coordinator"]["history"][-1]
    for bank in BANKS:
        assert result["parties"][bank]["history"][-1] == reference["parties"][bank]["history"][-1]
    # the witness state moved with the database and kept growing on the standby
    before, after = stormy["witnessed"], stormy["witnessed_after"]
    assert before and all(after[bank] >= size for bank, size in before.items())
    assert stormy["failover_s"] < 60
