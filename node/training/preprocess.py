"""Local feature preparation each holder applies to its own columns before training.

Credit amounts span orders of magnitude (tax paid, power use, invoices); a linear model trained
on them raw is dominated by scale, and their fixed-point encoding would need huge scalars. Each
holder therefore fills missing values with its column median, takes a signed ``log1p`` of
wide-range columns and standardises — computed on its own data only, so no statistic leaves
the node. Reported AUCs of the synthetic data (docs/synthetic-data.md) use the same recipe.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import pandas as pd

# A column whose absolute values exceed this is treated as wide-range (amounts, counts).
WIDE_RANGE: Final = 100.0
MODES: Final = ("log_standardize", "none")


def prepare_features(
    frame: pd.DataFrame, columns: Sequence[str], mode: str = "log_standardize"
) -> pd.DataFrame:
    """Return ``frame`` with ``columns`` prepared (other columns untouched).

    Raises
    ------
    ValueError
        ``mode`` is unknown, or a column is missing or not numeric.
    """
    if mode not in MODES:
        raise ValueError(f"preprocess must be one of {', '.join(MODES)}, got {mode!r}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"columns {missing} are not in the dataset")
    out = frame.copy()
    if mode == "none" or not columns:
        return out
    x = frame[list(columns)].astype("float64")
    x = x.fillna(x.median())
    wide = x.abs().max() > WIDE_RANGE
    x.loc[:, wide] = np.sign(x.loc[:, wide]) * np.log1p(x.loc[:, wide].abs())
    std = x.std(ddof=0).replace(0.0, 1.0)
    out[list(columns)] = (x - x.mean()) / std
    return out
