"""Tests for the bank-only yardstick model."""

from __future__ import annotations

import pandas as pd
import pytest

from node.training.vertical import DataMismatch, bank_only_metrics, spec_from_job

from .conftest import allow_all, section


def test_bank_only_model_reports_test_metrics(
    credit_frames: dict[str, pd.DataFrame],
) -> None:
    # prepare
    spec = spec_from_job(section(epochs=3), allow_all)
    # execute
    found = bank_only_metrics(spec, credit_frames["bank"])
    # assert
    assert 0.5 < found["auc"] < 1.0
    assert found["gini"] == pytest.approx(2 * found["auc"] - 1)
    assert 0.0 < found["log_loss"] < 0.7


def test_bank_only_needs_the_label(credit_frames: dict[str, pd.DataFrame]) -> None:
    # prepare
    spec = spec_from_job(section(), allow_all)
    # execute / assert
    with pytest.raises(DataMismatch):
        bank_only_metrics(spec, credit_frames["bank"].drop(columns=["y"]))
