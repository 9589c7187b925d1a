"""Tests for each party's local computations: features, labels, split, schedule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from node.training.vertical import DataMismatch
from node.training.vertical.local import (
    Role,
    Split,
    check_columns,
    epoch_batches,
    load_labels,
    pair_masks,
    quantize,
    stratified_split,
)


def test_features_are_fixed_point_with_intercept() -> None:
    # prepare
    matrix = np.array([[0.5, 0.001], [-1.0, 3.0]])
    # execute
    feats = quantize("bank", ["a", "b"], matrix, 8, intercept=True)
    # assert
    assert feats.names == ("a", "b", "(intercept)") and feats.width == 3
    assert feats.scalars.tolist() == [[128, 0, 256], [-256, 768, 256]]
    assert feats.values[0, 1] == 0.0


@pytest.mark.parametrize(
    ("values", "problem"),
    [([np.nan], "missing or infinite"), ([np.inf], "missing or infinite"), ([500.0], "beyond")],
)
def test_unusable_prepared_values_are_refused(values: list[float], problem: str) -> None:
    # execute
    with pytest.raises(DataMismatch) as info:
        quantize("gov", ["a"], np.array([values]).T, 8, intercept=False)
    # assert
    assert problem in info.value.problem and info.value.party == "gov"


@pytest.mark.parametrize(
    ("frame", "problem"),
    [(pd.DataFrame({"b": [1.0]}), "not in the dataset"), (pd.DataFrame({"a": ["x"]}), "numeric")],
)
def test_bad_feature_columns_are_refused(frame: pd.DataFrame, problem: str) -> None:
    # execute
    with pytest.raises(DataMismatch) as info:
        check_columns("gov", frame, ["a"])
    # assert
    assert problem in info.value.problem


@pytest.mark.parametrize("values", [[0, 2], [1, 1], [0.5, 1]])
def test_bad_labels_are_refused(values: list[float]) -> None:
    # execute / assert
    with pytest.raises(DataMismatch):
        load_labels("bank", pd.DataFrame({"y": values}), "y")
    with pytest.raises(DataMismatch):
        load_labels("bank", pd.DataFrame({"z": values}), "y")


def test_three_way_split_is_stratified_and_travels_as_bits() -> None:
    # prepare
    y = np.array([0] * 80 + [1] * 20, dtype=np.int8)
    # execute
    split = stratified_split(y, 0.25, 0.2, 3)
    back = Split.from_bits(split.to_bits())
    # assert
    assert split.valid.sum() == 25 and y[split.valid].sum() == 5
    assert split.test.sum() == 20 and y[split.test].sum() == 4
    assert not (split.valid & split.test).any() and split.train.sum() == 55
    assert back.roles.tolist() == split.roles.tolist()
    assert split.roles.tolist() == stratified_split(y, 0.25, 0.2, 3).roles.tolist()
    with pytest.raises(ValueError):
        Split.from_bits(np.ones(10, dtype=bool))  # every row both validation and test


def test_schedule_and_pair_masks_are_deterministic() -> None:
    # prepare
    roles = np.full(100, Role.TRAIN, dtype=np.int8)
    roles[::4] = Role.VALID
    train = np.flatnonzero(Split(roles).train)
    # execute
    first = epoch_batches(train, 3, 1, 16)
    # assert
    assert [b.tolist() for b in first] == [b.tolist() for b in epoch_batches(train, 3, 1, 16)]
    assert first[0].tolist() != epoch_batches(train, 3, 2, 16)[0].tolist()
    assert sorted(np.concatenate(first).tolist()) == train.tolist()
    assert pair_masks(b"s" * 32, 1, 4).tolist() == pair_masks(b"s" * 32, 1, 4).tolist()
    assert pair_masks(b"s" * 32, 1, 4).tolist() != pair_masks(b"s" * 32, 2, 4).tolist()
