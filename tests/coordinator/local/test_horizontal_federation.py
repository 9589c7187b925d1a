"""Horizontal training across three bank processes on the shared real data set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.federation_fixtures import csv_federation

pytestmark = pytest.mark.slow

JOB = """
type: horizontal
parties:
  bank_a: {dataset: bank_a, label: y}
  bank_b: {dataset: bank_b, label: y}
  bank_c: {dataset: bank_c, label: y}
horizontal:
  model: {kind: lr}
  rounds: 3
  quorum: 2
  learning_rate: 0.1
"""


def test_three_banks_train_with_paillier_sums_over_the_relay(
    tmp_path: Path, default_credit_dir: Path
) -> None:
    # prepare: three bank nodes, each with one of the horizontal files, real 2048-bit keys
    files = ("homo_guest", "homo_host_1", "homo_host_2")
    nodes = {
        f"bank_{x}": ("bank", f"bank-{x}", default_credit_dir / f"default_credit_{f}.csv", "y")
        for x, f in zip("abc", files, strict=True)
    }
    fed = csv_federation(tmp_path, nodes)
    try:
        fed.start()
        # execute
        status = fed.wait_job(fed.submit(JOB, job_id="hfl"), timeout=600)
    finally:
        fed.stop()
    # assert: every round completed, the model is useful, the coordinator saw only sums
    assert status.state == "succeeded", status.error
    result = json.loads(status.result_json)
    rounds = result["coordinator"]["history"]
    assert [r["banks"] for r in rounds] == [["bank_a", "bank_b", "bank_c"]] * 3
    assert rounds[-1]["val_auc"] > 0.68  # federated validation AUC, from per-bank counts
    assert result["coordinator"]["rejected"] == []
    for bank in result["parties"].values():
        assert bank["rounds_completed"] == 3
        assert bank["history"][-1]["val_auc"] == rounds[-1]["val_auc"]
