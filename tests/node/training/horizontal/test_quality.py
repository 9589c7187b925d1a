"""The default horizontal job on data nobody tuned it for: heavy tails, outliers, 7 % defaults.

Three banks get the first 3,000 rows of their real default_credit horizontal split with the
stress transforms (``node.data.stress``): every other column lognormal-tailed with 0.2 %
outliers 1,000-10,000 times their value, positives thinned to 7 %, and one bank recording its
columns in units 10**4 larger. The job runs with the job file's defaults (plaintext sums: the
Paillier run is bit-identical, see test_protocol.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from node.data.stress import stress_horizontal
from node.training import metrics
from node.training.horizontal import TorchTrainer, parse_horizontal_spec
from node.training.horizontal.data import prepare_bank_data

from .conftest import BANKS, run_job

FEATURES = [f"x{i}" for i in range(23)]


@pytest.mark.slow
def test_default_job_matches_pooled_and_beats_the_bank_alone(default_credit_dir: Path) -> None:
    # prepare: only the parties are given; the guest bank holds the held-out test firms
    raw = {
        b: pd.read_csv(default_credit_dir / f"default_credit_homo_{b}.csv", nrows=3000)
        for b in BANKS
    }
    held_out = pd.read_csv(default_credit_dir / "default_credit_homo_test.csv")
    banks, test = stress_horizontal(raw, held_out, FEATURES, "y", "host_1")
    spec = parse_horizontal_spec({"encryption": "none"}, BANKS)
    data = {
        b: prepare_bank_data(
            banks[b], FEATURES, "y", 0.2, spec.seed, spec.preprocess, test if b == "guest" else None
        )[0]
        for b in BANKS
    }
    trainers = {b: TorchTrainer(spec, data[b], seed=i) for i, b in enumerate(BANKS)}
    # execute
    run = run_job(spec, trainers)
    # pooled: scikit-learn fully fitted on every bank's training rows, each bank's preparation
    x = np.vstack([data[b].x_train for b in BANKS])
    y = np.concatenate([data[b].y_train for b in BANKS])
    x_test, y_test = data["guest"].x_test, data["guest"].y_test
    assert x_test is not None and y_test is not None
    pooled = LogisticRegression(max_iter=5000).fit(x, y).decision_function(x_test)
    guest = data["guest"]
    alone = LogisticRegression(max_iter=5000).fit(guest.x_train, guest.y_train)
    # assert: on the test firms, which chose nothing
    assert not run.errors
    final = run.results["coordinator"].final
    assert 0.06 < y_test.mean() < 0.08
    assert final["test_auc"] >= metrics.auc(y_test, pooled) - 0.01
    assert final["test_auc"] > metrics.auc(y_test, alone.decision_function(x_test))
    probabilities = run.results["guest"].probabilities
    assert final["test_log_loss"] < probabilities["log_loss_base_rate"]
    assert len(probabilities["calibration"]) == 10
