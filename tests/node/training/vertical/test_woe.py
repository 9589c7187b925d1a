"""Tests for WOE binning: the local maths and the encrypted per-bin counts of feature holders."""

from __future__ import annotations

import numpy as np
import pandas as pd

from node.training.vertical import spec_from_job
from node.training.vertical.local import stratified_split
from node.training.vertical.simulate import run_in_memory
from node.training.vertical.woe import (
    WoeTable,
    assign_bins,
    bin_indicators,
    min_bin_rows,
    quantile_edges,
    woe_from_counts,
)

from .conftest import allow_all, section


def test_woe_follows_goods_over_bads() -> None:
    # prepare: bin 0 mostly good, bin 1 mostly bad, bin 2 too small to be asked about
    positives = np.array([10, 80, 1])
    sizes = np.array([100, 100, 3])
    allowed = sizes >= 50
    # execute
    woe = woe_from_counts(positives, sizes, allowed)
    # assert
    assert woe[0] > 0 > woe[1]
    assert woe[2] == 0.0
    expected0 = np.log((90.5 / (110 + 1.5)) / (10.5 / (90 + 1.5)))
    assert woe[0] == expected0


def test_bins_edges_and_indicators() -> None:
    # prepare
    values = np.arange(100, dtype=np.float64)
    # execute
    edges = quantile_edges(values, 4)
    bins = assign_bins(values, edges)
    table = WoeTable(edges, np.array([1.0, 2.0, 3.0, 4.0]))
    ind = bin_indicators(bins, 4, np.array([True, True, False, True]))
    # assert
    assert np.bincount(bins).tolist() == [25, 25, 25, 25]
    assert table.apply(np.array([0.0, 99.0])).tolist() == [1.0, 4.0]
    assert ind.sum() == 75 and ind[60, 2] == 0 and ind[0, 0] == 1
    assert min_bin_rows(1000) == 50 and min_bin_rows(100_000) == 2000


def test_woe_job_encrypted_equals_twin_and_hosts_ask_only_counts(
    credit_frames: dict[str, pd.DataFrame],
) -> None:
    # prepare
    def raw(plaintext: bool) -> dict[str, object]:
        out = section(plaintext=plaintext, epochs=1, three_party=True)
        out["woe"] = {"bins": 4}
        return out

    # execute
    plain, e1 = run_in_memory(spec_from_job(raw(True), allow_all), credit_frames)
    cipher, e2 = run_in_memory(spec_from_job(raw(False), allow_all), credit_frames)
    # assert
    assert e1 == {} and e2 == {}
    for party in ("bank", "gov", "third"):
        assert plain[party].model.weights == cipher[party].model.weights
    # the host's tables, built from encrypted labels, equal tables built with the labels
    spec = spec_from_job(raw(False), allow_all)
    y = credit_frames["bank"]["y"].to_numpy().astype(np.int8)
    train = stratified_split(y, spec.validation_fraction, spec.test_fraction, spec.seed).train
    tables = cipher["gov"].model.woe
    assert tables is not None and set(tables) == {"x0", "x1", "x2", "x3", "x4"}
    for name, table in tables.items():
        bins = assign_bins(credit_frames["gov"][name].to_numpy()[train], table.edges)
        sizes = np.bincount(bins, minlength=4)
        positives = np.bincount(bins, weights=y[train], minlength=4).astype(np.int64)
        expected = woe_from_counts(positives, sizes, sizes >= min_bin_rows(int(train.sum())))
        np.testing.assert_array_equal(table.woe, expected)
        assert np.abs(table.woe).max() > 0
    assert cipher["bank"].model.woe is not None
