"""One bank's local data for horizontal training: train / validation / optional held-out arrays."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray


@dataclass(frozen=True)
class BankData:
    """Feature matrices (float32) and 0/1 labels of one bank; never leaves the bank."""

    x_train: NDArray[np.float32]
    y_train: NDArray[np.float32]
    x_val: NDArray[np.float32]
    y_val: NDArray[np.float32]
    x_test: NDArray[np.float32] | None = None
    y_test: NDArray[np.float32] | None = None

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])


def read_labelled_csv(
    path: Path, label: str = "y"
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Read a CSV with an ``id`` column, a 0/1 ``label`` column and numeric features.

    Raises
    ------
    ValueError
        The label column is missing or not 0/1, or a feature is not numeric.
    """
    frame = pd.read_csv(path)
    if label not in frame.columns:
        raise ValueError(f"{path.name}: no label column {label!r}; name it in the job file")
    y = frame[label].to_numpy()
    if not np.isin(y, (0, 1)).all():
        raise ValueError(f"{path.name}: label column {label!r} must hold only 0 and 1")
    features = frame.drop(columns=[c for c in ("id", label) if c in frame.columns])
    try:
        x = features.to_numpy(dtype=np.float32)
    except ValueError:
        raise ValueError(f"{path.name}: every feature column must be numeric") from None
    return x, y.astype(np.float32)


def split_bank_data(
    x: NDArray[np.float32],
    y: NDArray[np.float32],
    validation_fraction: float = 0.2,
    seed: int = 0,
    test: tuple[NDArray[np.float32], NDArray[np.float32]] | None = None,
) -> BankData:
    """Split one bank's rows into train and validation by a seeded stratified shuffle.

    Raises
    ------
    ValueError
        ``validation_fraction`` is not in (0, 1) or leaves a split empty.
    """
    if not 0 < validation_fraction < 1:
        raise ValueError("validation_fraction must be between 0 and 1 (exclusive)")
    rng = np.random.default_rng(seed)
    val_idx: list[NDArray[np.int64]] = []
    for cls in (0, 1):
        members = np.flatnonzero(y == cls)
        rng.shuffle(members)
        val_idx.append(members[: round(members.size * validation_fraction)])
    val = np.sort(np.concatenate(val_idx))
    train = np.setdiff1d(np.arange(y.size), val)
    if val.size == 0 or train.size == 0:
        raise ValueError("the validation split leaves train or validation empty; add rows")
    x_test, y_test = test if test is not None else (None, None)
    return BankData(x[train], y[train], x[val], y[val], x_test, y_test)
