"""A holder's column preparation, frozen into numbers so a part scores without training data.

Training prepares each holder's columns from its own table (``node.training.preprocess``):
fill with the median, signed ``log1p`` of wide-range columns, standardise. Scoring one
applicant cannot recompute those statistics, so deployment freezes them: the same
medians, wide-range flags, means and deviations apply to every row scored later.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from node.training.preprocess import MODES, WIDE_RANGE


@dataclass(frozen=True)
class FrozenTransform:
    """Per column: median fill, whether ``log1p`` applies, then ``(x - mean) / std``."""

    columns: tuple[str, ...]
    median: tuple[float, ...]
    wide: tuple[bool, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def identity(cls, columns: Sequence[str]) -> FrozenTransform:
        n = len(columns)
        return cls(tuple(columns), (0.0,) * n, (False,) * n, (0.0,) * n, (1.0,) * n)

    @classmethod
    def fit(cls, frame: pd.DataFrame, columns: Sequence[str], mode: str) -> FrozenTransform:
        """The statistics ``prepare_features(frame, columns, mode)`` would use.

        Raises
        ------
        ValueError
            Unknown ``mode``, or a column missing or not numeric.
        """
        if mode not in MODES:
            raise ValueError(f"preprocess must be one of {', '.join(MODES)}, got {mode!r}")
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(f"columns {missing} are not in the dataset")
        if mode == "none":
            return cls.identity(columns)
        x = frame[list(columns)].astype("float64")
        median = x.median()
        x = x.fillna(median)
        wide = x.abs().max() > WIDE_RANGE
        x.loc[:, wide] = np.sign(x.loc[:, wide]) * np.log1p(x.loc[:, wide].abs())
        std = x.std(ddof=0).replace(0.0, 1.0)
        return cls(
            tuple(columns),
            tuple(float(v) for v in median.fillna(0.0)),
            tuple(bool(v) for v in wide),
            tuple(float(v) for v in x.mean().fillna(0.0)),
            tuple(float(v) for v in std.fillna(1.0)),
        )

    def apply(self, frame: pd.DataFrame) -> NDArray[np.float64]:
        """The prepared matrix (rows x columns) of ``frame``."""
        x = frame[list(self.columns)].to_numpy(dtype=np.float64, copy=True)
        median = np.asarray(self.median)
        holes = np.isnan(x)
        if holes.any():
            x[holes] = np.broadcast_to(median, x.shape)[holes]
        wide = np.asarray(self.wide)
        if wide.any():
            x[:, wide] = np.sign(x[:, wide]) * np.log1p(np.abs(x[:, wide]))
        result: NDArray[np.float64] = (x - np.asarray(self.mean)) / np.asarray(self.std)
        return result

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": list(self.columns),
            "median": list(self.median),
            "wide": list(self.wide),
            "mean": list(self.mean),
            "std": list(self.std),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> FrozenTransform:
        return cls(
            tuple(str(c) for c in raw["columns"]),
            tuple(float(v) for v in raw["median"]),
            tuple(bool(v) for v in raw["wide"]),
            tuple(float(v) for v in raw["mean"]),
            tuple(float(v) for v in raw["std"]),
        )
