"""Tests for PD calibration and the probability report."""

from __future__ import annotations

import numpy as np
import pytest

from node.training import metrics
from node.training.calibration import (
    PlattScaling,
    calibration_table,
    fit_platt,
    probability_report,
    sigmoid,
)


def test_platt_scaling_repairs_shifted_and_stretched_logits() -> None:
    # prepare: true PDs from logits z, but the model reports 3 z + 2
    rng = np.random.default_rng(1)
    z = rng.normal(-2.5, 1.0, 20000)
    y = (rng.random(z.size) < sigmoid(z)).astype(np.int8)
    reported = 3 * z + 2
    # execute
    platt = fit_platt(reported, y)
    pd_raw, pd_cal = sigmoid(reported), platt.probabilities(reported)
    # assert
    assert platt.slope == pytest.approx(1 / 3, rel=0.05) and platt.shift == pytest.approx(
        -2 / 3, abs=0.1
    )
    assert metrics.log_loss(y, pd_cal) < metrics.log_loss(y, pd_raw)
    assert metrics.log_loss(y, pd_cal) < metrics.base_rate_log_loss(y, y.mean())
    assert metrics.auc(y, pd_cal) == pytest.approx(metrics.auc(y, reported))
    assert PlattScaling.from_dict(platt.to_dict()) == platt


def test_calibration_table_and_report() -> None:
    # prepare
    rng = np.random.default_rng(2)
    p = rng.uniform(0.01, 0.5, 5000)
    y = (rng.random(p.size) < p).astype(np.int8)
    # execute
    table = calibration_table(y, p)
    report = probability_report(y, p)
    # assert
    assert len(table) == 10 and sum(r["firms"] for r in table) == 5000
    for row in table:
        assert row["pd_low"] <= row["predicted"] <= row["pd_high"]
        assert row["observed"] == pytest.approx(row["predicted"], abs=0.06)
    assert report["log_loss"] < report["log_loss_base_rate"]
    assert report["brier"] < report["brier_base_rate"]
    with pytest.raises(ValueError):
        metrics.log_loss([0, 1], [0.5, 1.5])
    with pytest.raises(ValueError):
        fit_platt([0.1, 0.2], [1, 1])
