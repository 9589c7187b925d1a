"""A holder's column preparation, frozen into numbers so a part scores without training data.

Training prepares each holder's columns from its own training rows
(``node.training.preprocess``): the fitted ``Transform`` travels inside a ``vertical_lr`` model
part, so deployment uses exactly the numbers training used. Outputs of earlier jobs carried no
preparation; for those the statistics are refitted from the node's table (``fit``), and parts
deployed before the preparation moved into the job output (median, wide-range flag, mean and
deviation per column) still load.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from node.training.preprocess import ColumnTransform, Transform, fit_transform


@dataclass(frozen=True)
class FrozenTransform:
    """The fitted preparation of a part's columns, in the part's feature order."""

    prepared: Transform

    @property
    def columns(self) -> tuple[str, ...]:
        return self.prepared.names

    @classmethod
    def identity(cls, columns: Sequence[str]) -> FrozenTransform:
        return cls(Transform(tuple(ColumnTransform(c, "none") for c in columns)))

    @classmethod
    def fit(cls, frame: pd.DataFrame, columns: Sequence[str], mode: str) -> FrozenTransform:
        """The preparation ``mode`` fitted on every row of ``frame`` (outputs of older jobs).

        Raises
        ------
        ValueError
            Unknown ``mode``, or a column missing or not numeric.
        """
        return cls(fit_transform(frame, columns, mode))

    def apply(self, frame: pd.DataFrame) -> NDArray[np.float64]:
        """The prepared matrix (rows x columns) of ``frame``."""
        return self.prepared.apply(frame)

    def apply_values(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        """``apply`` on raw values already in column order (rows x columns), no frame: the
        decision path's form (one applicant is one row, and a frame costs more than the math).
        """
        out = np.empty(values.shape, dtype=np.float64)
        for j, column in enumerate(self.prepared.columns):
            out[:, j] = column.apply(values[:, j])
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"columns": list(self.columns), "steps": self.prepared.to_dict()}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> FrozenTransform:
        if "steps" in raw:
            return cls(Transform.from_dict(raw["steps"]))
        # parts deployed before training shipped its preparation: log_standardize statistics
        return cls(
            Transform(
                tuple(
                    ColumnTransform(
                        str(c),
                        "log_standardize",
                        float(m),
                        squash=bool(w),
                        mean=float(mu),
                        std=float(sd),
                    )
                    for c, m, w, mu, sd in zip(
                        raw["columns"],
                        raw["median"],
                        raw["wide"],
                        raw["mean"],
                        raw["std"],
                        strict=True,
                    )
                )
            )
        )
