"""Tests for reading and splitting one bank's labelled data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from node.jobs.hooks import MemoryHooks
from node.training.horizontal import read_labelled_csv, run_bank, split_bank_data
from node.transport.memory import MemoryHub

from .conftest import small_spec


def test_real_bank_file_reads_23_features(default_credit_dir: Path) -> None:
    x, y = read_labelled_csv(default_credit_dir / "default_credit_homo_host_1.csv")
    assert x.shape == (8000, 23) and x.dtype == np.float32
    assert set(np.unique(y)) == {0.0, 1.0}


def test_split_is_stratified_and_disjoint() -> None:
    # prepare
    y = np.array([0] * 80 + [1] * 20, dtype=np.float32)
    x = np.arange(100, dtype=np.float32).reshape(100, 1)
    # execute
    data = split_bank_data(x, y, 0.25, seed=1)
    # assert
    assert data.y_val.size == 25 and data.y_val.sum() == 5
    assert not set(data.x_val.ravel()) & set(data.x_train.ravel())


def test_split_refuses_bad_fraction_and_empty_split() -> None:
    x, y = np.zeros((2, 1), np.float32), np.array([0, 1], np.float32)
    with pytest.raises(ValueError, match="between 0 and 1"):
        split_bank_data(x, y, 1.0)
    with pytest.raises(ValueError, match="empty"):
        split_bank_data(x, y, 0.9)


def test_csv_without_label_or_with_bad_values_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id,x0\n1,0.5\n")
    (tmp_path / "b.csv").write_text("id,y,x0\n1,2,0.5\n")
    (tmp_path / "c.csv").write_text("id,y,x0\n1,1,abc\n")
    with pytest.raises(ValueError, match="no label column"):
        read_labelled_csv(tmp_path / "a.csv")
    with pytest.raises(ValueError, match="only 0 and 1"):
        read_labelled_csv(tmp_path / "b.csv")
    with pytest.raises(ValueError, match="numeric"):
        read_labelled_csv(tmp_path / "c.csv")


def test_run_bank_refuses_a_party_that_is_not_a_bank() -> None:
    channel = MemoryHub().channel("stranger")
    with pytest.raises(ValueError, match="not a bank"):
        run_bank(channel, MemoryHooks(), small_spec(), trainer=None)  # type: ignore[arg-type]
