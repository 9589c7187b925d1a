"""Quantile bins: at most ``bins`` value bins, missing values apart, raw rule == bin rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from node.training.secureboost.binning import (
    bin_codes,
    bin_columns,
    goes_left,
    load_columns,
    quantile_edges,
)
from node.training.secureboost.model import SplitRule
from node.training.vertical.exceptions import DataMismatch


def test_continuous_column_gets_at_most_the_requested_bins() -> None:
    values = np.random.default_rng(0).normal(size=5000)
    edges = quantile_edges(values, 32)
    counts = np.bincount(bin_codes(values, edges))
    assert len(edges) == 31 and len(counts) == 32
    assert counts.min() > 5000 / 32 * 0.8  # quantile bins are balanced


def test_few_distinct_values_get_a_bin_each_and_missing_its_own() -> None:
    values = np.array([1.0, 2.0, 2.0, 5.0, np.nan, 1.0])
    edges = quantile_edges(values, 32)
    assert edges.tolist() == [1.5, 3.5]
    assert bin_codes(values, edges).tolist() == [0, 1, 1, 2, 3, 0]


def test_constant_column_has_no_edges() -> None:
    assert len(quantile_edges(np.array([3.0, 3.0, np.nan]), 8)) == 0


@pytest.mark.parametrize("missing_left", [False, True])
def test_the_threshold_rule_on_raw_values_equals_the_bin_rule(missing_left: bool) -> None:
    # prepare: a skewed column with missing values; bins cut on the first 700 rows only
    rng = np.random.default_rng(1)
    values = np.round(rng.lognormal(size=(1000, 1)), 2)
    values[rng.random(1000) < 0.1] = np.nan
    train = np.arange(1000) < 700
    binned = bin_columns(["x"], values, train, 16)
    column = binned.columns[0]
    for threshold_bin in range(column.value_bins):
        # execute
        by_bin = goes_left(binned.codes[:, 0], threshold_bin, column.value_bins, missing_left)
        rule = SplitRule("x", column.threshold(threshold_bin), missing_left)
        by_value = rule.goes_left(values[:, 0])
        # assert: also for the 300 rows the edges were not cut on
        assert (by_bin == by_value).all()


def test_bad_columns_are_refused_by_name() -> None:
    frame = pd.DataFrame({"a": [1.0, np.inf], "b": ["x", "y"], "c": [1, None]})
    with pytest.raises(DataMismatch, match="'a' holds an infinite value"):
        load_columns("gov", frame, ["a"])
    with pytest.raises(DataMismatch, match="'b' is not numeric"):
        load_columns("gov", frame, ["b"])
    with pytest.raises(DataMismatch, match="zz are not in the dataset"):
        load_columns("gov", frame, ["zz"])
    assert np.isnan(load_columns("gov", frame, ["c"])[1, 0])
