"""Tests for the self-contained model parts each party keeps."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from node.training import metrics
from node.training.vertical import PartyModel, run_in_memory, spec_from_job
from node.training.vertical.local import stratified_split

from .conftest import allow_all, section


def test_parts_score_new_rows_alone_and_add_up_to_the_reported_model(
    credit_frames: dict[str, pd.DataFrame],
) -> None:
    # prepare
    spec = spec_from_job(section(epochs=3, three_party=True), allow_all)
    results, errors = run_in_memory(spec, credit_frames)
    assert errors == {}
    # execute: every part goes through its JSON form, then scores the raw rows on its own
    parts = {
        p: PartyModel.from_dict(json.loads(json.dumps(results[p].model.to_dict())))
        for p in spec.parties
    }
    logit = sum(parts[p].partial_score(credit_frames[p]) for p in spec.parties)
    bank = parts["bank"]
    assert bank.intercept is not None and bank.calibration is not None
    logit = logit + bank.intercept
    # assert: the same test AUC and calibrated log-loss as the job reported
    y = credit_frames["bank"]["y"].to_numpy().astype(np.int8)
    test = stratified_split(y, spec.validation_fraction, spec.test_fraction, spec.seed).test
    assert metrics.auc(y[test], logit[test]) == pytest.approx(results["bank"].metrics["auc"])
    pd_test = bank.calibration.probabilities(logit[test])
    assert metrics.log_loss(y[test], pd_test) == pytest.approx(results["bank"].metrics["log_loss"])
    assert parts["gov"].intercept is None and parts["gov"].calibration is None
    assert set(parts["gov"].as_dict()) == {"x0", "x1", "x2", "x3", "x4"}


def test_model_part_refuses_another_format() -> None:
    # execute / assert
    with pytest.raises(ValueError, match="model part"):
        PartyModel.from_dict({"format": "something/else"})
