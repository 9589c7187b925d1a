"""One bank's local data for horizontal training: train / validation / optional held-out arrays.

Each bank prepares its own columns (``node.training.preprocess``) from statistics of its own
training rows: banks never pool statistics, and a bank that records amounts in other units
than the others ends with the same model inputs. The fitted preparation is kept with the
bank's copy of the model, since scoring a new applicant must apply it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from node.training.preprocess import Transform, fit_transform


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


def validation_rows(y: NDArray[np.floating], fraction: float, seed: int) -> NDArray[np.bool_]:
    """A seeded stratified choice of ``fraction`` of each class as validation rows.

    Raises
    ------
    ValueError
        ``fraction`` is not in (0, 1) or leaves a split empty.
    """
    if not 0 < fraction < 1:
        raise ValueError("validation_fraction must be between 0 and 1 (exclusive)")
    rng = np.random.default_rng(seed)
    valid = np.zeros(y.size, dtype=bool)
    for cls in (0, 1):
        members = np.flatnonzero(y == cls)
        rng.shuffle(members)
        valid[members[: round(members.size * fraction)]] = True
    if valid.all() or not valid.any():
        raise ValueError("the validation split leaves train or validation empty; add rows")
    return valid


def prepare_bank_data(
    frame: pd.DataFrame,
    features: list[str],
    label: str,
    validation_fraction: float = 0.2,
    seed: int = 0,
    mode: str = "robust",
    test: pd.DataFrame | None = None,
) -> tuple[BankData, Transform]:
    """Split one bank's rows, fit its preparation on the training rows, prepare every split.

    Raises
    ------
    ValueError
        A column is missing or not numeric, the label is not 0/1, or a split would be empty.
    """
    y = frame[label].to_numpy()
    if not np.isin(y, (0, 1)).all():
        raise ValueError(f"label column {label!r} must hold only 0 and 1")
    valid = validation_rows(y.astype(np.float32), validation_fraction, seed)
    transform = fit_transform(frame, features, mode, ~valid)
    x = transform.apply(frame).astype(np.float32)
    y32 = y.astype(np.float32)
    held_out = None
    if test is not None:
        test_y = test[label].to_numpy()
        if not np.isin(test_y, (0, 1)).all():
            raise ValueError(f"label column {label!r} of the test set must hold only 0 and 1")
        held_out = (transform.apply(test).astype(np.float32), test_y.astype(np.float32))
    data = BankData(
        x[~valid],
        y32[~valid],
        x[valid],
        y32[valid],
        *(held_out if held_out is not None else (None, None)),
    )
    return data, transform


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
    valid = validation_rows(y, validation_fraction, seed)
    x_test, y_test = test if test is not None else (None, None)
    return BankData(x[~valid], y[~valid], x[valid], y[valid], x_test, y_test)
