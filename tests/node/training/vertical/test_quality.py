"""The default vertical job on data nobody tuned it for: heavy tails, outliers, 7 % defaults.

Built from the first 12,000 rows of the real default_credit vertical split with the stress
transforms (``node.data.stress``): every other column lognormal-tailed with 0.2 % outliers
1,000-10,000 times their value, positives thinned to 7 %, the host's columns in units 10**4
larger. The job runs with the job file's defaults only (the plaintext twin: the encrypted run is
bit-identical, see test_party.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from node.data.stress import stress_vertical
from node.training import metrics
from node.training.preprocess import fit_transform
from node.training.vertical import bank_only_metrics, run_in_memory, spec_from_job
from node.training.vertical.local import stratified_split

from .conftest import GUEST_FEATURES, HOST_FEATURES, allow_all

ROWS = 12_000


@pytest.fixture(scope="module")
def hard_frames(default_credit_dir: Path) -> dict[str, pd.DataFrame]:
    guest = pd.read_csv(default_credit_dir / "default_credit_hetero_guest.csv", nrows=ROWS)
    host = pd.read_csv(default_credit_dir / "default_credit_hetero_host.csv", nrows=ROWS)
    features = {"bank": GUEST_FEATURES, "gov": HOST_FEATURES}
    return stress_vertical({"bank": guest, "gov": host}, features, "bank", "y", "gov")


@pytest.mark.slow
def test_default_job_matches_centralized_and_beats_the_bank_alone(
    hard_frames: dict[str, pd.DataFrame],
) -> None:
    # prepare: nothing but the parties and their columns is set
    raw = {
        "label_holder": {
            "party": "bank",
            "dataset": "loans",
            "id_column": "id",
            "label": "y",
            "features": GUEST_FEATURES,
        },
        "feature_holders": [
            {"party": "gov", "dataset": "tax", "id_column": "id", "features": HOST_FEATURES}
        ],
        "encryption": {"plaintext": True},
    }
    spec = spec_from_job(raw, allow_all)
    y = hard_frames["bank"]["y"].to_numpy().astype(np.int8)
    split = stratified_split(y, spec.validation_fraction, spec.test_fraction, spec.seed)
    # execute
    results, errors = run_in_memory(spec, hard_frames)
    bank_only = bank_only_metrics(spec, hard_frames["bank"])
    # centralized: scikit-learn fully fitted on the same training rows and preparation
    x = np.hstack(
        [
            fit_transform(hard_frames[p], cols, spec.preprocess, split.train).apply(hard_frames[p])
            for p, cols in (("bank", GUEST_FEATURES), ("gov", HOST_FEATURES))
        ]
    )
    central = LogisticRegression(max_iter=5000).fit(x[split.train], y[split.train])
    central_auc = metrics.auc(y[split.test], central.decision_function(x[split.test]))
    # assert
    assert errors == {}
    bank = results["bank"]
    assert 0.06 < y.mean() < 0.08 and bank.metrics_split == "test"
    assert bank.metrics["auc"] >= central_auc - 0.01
    assert bank.metrics["auc"] > bank_only["auc"]
    assert bank.metrics["log_loss"] < bank.probabilities["log_loss_base_rate"]
    assert bank.course.stopped in ("converged", "early_stopping")
