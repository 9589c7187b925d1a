"""Tests for each party's local computations: features, labels, schedule, checkpoints."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from node.training.vertical import DataMismatch
from node.training.vertical.local import (
    PartyState,
    apply_gradient,
    epoch_batches,
    load_features,
    load_labels,
    pair_masks,
    stratified_split,
)


def test_features_are_fixed_point_with_intercept() -> None:
    # prepare
    frame = pd.DataFrame({"a": [0.5, -1.0], "b": [0.001, 3.0]})
    # execute
    feats = load_features("bank", frame, ["a", "b"], 8, intercept=True)
    # assert
    assert feats.names == ("a", "b", "(intercept)")
    assert feats.scalars.tolist() == [[128, 0, 256], [-256, 768, 256]]
    assert feats.values[0, 1] == 0.0


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        (pd.DataFrame({"b": [1.0]}), "not in the dataset"),
        (pd.DataFrame({"a": ["x"]}), "not numeric"),
        (pd.DataFrame({"a": [np.nan]}), "missing or infinite"),
    ],
)
def test_bad_feature_columns_are_refused(frame: pd.DataFrame, problem: str) -> None:
    # execute
    with pytest.raises(DataMismatch) as info:
        load_features("gov", frame, ["a"], 8, intercept=False)
    # assert
    assert problem in info.value.problem and info.value.party == "gov"


@pytest.mark.parametrize("values", [[0, 2], [1, 1], [0.5, 1]])
def test_bad_labels_are_refused(values: list[float]) -> None:
    # execute / assert
    with pytest.raises(DataMismatch):
        load_labels("bank", pd.DataFrame({"y": values}), "y")
    with pytest.raises(DataMismatch):
        load_labels("bank", pd.DataFrame({"z": values}), "y")


def test_split_is_stratified_and_schedule_deterministic() -> None:
    # prepare
    y = np.array([0] * 80 + [1] * 20, dtype=np.int8)
    # execute
    valid = stratified_split(y, 0.25, 3)
    train = np.flatnonzero(~valid)
    first = epoch_batches(train, 3, 1, 16)
    # assert
    assert valid.sum() == 25 and y[valid].sum() == 5
    assert [b.tolist() for b in first] == [b.tolist() for b in epoch_batches(train, 3, 1, 16)]
    assert first[0].tolist() != epoch_batches(train, 3, 2, 16)[0].tolist()
    assert sorted(np.concatenate(first).tolist()) == train.tolist()
    assert pair_masks(b"s" * 32, 1, 4).tolist() == pair_masks(b"s" * 32, 1, 4).tolist()
    assert pair_masks(b"s" * 32, 1, 4).tolist() != pair_masks(b"s" * 32, 2, 4).tolist()


def test_gradient_step_skips_l2_on_intercept() -> None:
    # prepare
    w = np.array([1.0, 1.0])
    # execute
    out = apply_gradient(w, [2**10, 0], 10, 2, 0.5, 0.1, intercept=True)
    # assert
    assert out.tolist() == [1.0 - 0.5 * (0.5 + 0.1), 1.0]


def test_checkpoint_round_trip_and_refusals() -> None:
    # prepare
    state = PartyState(3, np.array([0.25, -1.5]), np.array([0.5, 2.0]), 2, {"history": []})
    blob = state.to_bytes()
    # execute
    back = PartyState.from_bytes("bank", blob, 2)
    # assert
    assert back.epoch == 3 and back.weights.tolist() == [0.25, -1.5] and back.best_epoch == 2
    for bad, width in ((b"\x09" + blob[1:], 2), (blob[:-3], 2), (blob, 3)):
        with pytest.raises(DataMismatch):
            PartyState.from_bytes("bank", bad, width)
