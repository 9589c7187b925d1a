"""Local feature preparation each holder applies to its own columns before training.

Credit columns are badly scaled and heavy-tailed: tax paid, power use and invoice totals span
orders of magnitude, ratio columns carry outliers thousands of times their median, and a
holder may publish amounts in cents where another uses thousands. A linear model trained on
such columns raw is dominated by scale and by a handful of extreme firms, and their fixed-point
encoding would overflow. Every holder therefore prepares its own columns, from statistics of
its own *training* rows only (no statistic leaves the node, no validation or test row shapes
the transform):

``robust`` (the default of training jobs)
    median fill; centre on the median and divide by a robust scale (IQR / 1.349, falling back
    to the standard deviation for columns with a zero IQR, e.g. mostly-zero counts); squash
    heavy-tailed columns with ``asinh`` (linear near the centre, logarithmic in the tails —
    scale-free, unlike ``log1p`` of raw amounts); clip at the 0.5 % / 99.5 % training quantiles;
    standardise; finally bound to ``±BOUND`` so fixed-point encodings stay in range. A column
    is heavy-tailed when its 0.5 %–99.5 % range exceeds ``HEAVY_RANGE`` robust scales (a
    normal column spans about 5.2). Evidence for each step: ``docs/model-quality.md``.
``log_standardize``
    the earlier recipe: median fill, signed ``log1p`` of columns whose absolute values exceed
    ``WIDE_RANGE``, standardise. Kept for comparisons and for ``prepare_features``.
``none``
    the columns are used as they are (already prepared data).

The fitted :class:`Transform` is part of each holder's model part: scoring a new firm applies
exactly the same steps with the same numbers (``docs/protocols/vertical-lr.md``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

# A column whose absolute values exceed this is treated as wide-range (amounts, counts).
WIDE_RANGE: Final = 100.0
MODES: Final = ("robust", "log_standardize", "none")
DEFAULT_MODE: Final = "robust"
BOUND: Final = 8.0
"""Prepared values are clipped to ``[-BOUND, BOUND]``: after robust clipping and scaling no
real column reaches it, and fixed-point features (``x * 2**8``) stay below ``2**11``."""
CLIP_QUANTILES: Final = (0.005, 0.995)
HEAVY_RANGE: Final = 12.0
"""Robust scales between the clip quantiles above which a column is squashed with ``asinh``."""


@dataclass(frozen=True)
class ColumnTransform:
    """The fitted preparation of one column; ``apply`` maps raw values to model inputs.

    Steps, in order: replace missing values by ``fill``; ``u = (x - center) / scale``;
    ``asinh(u)`` when ``squash``; clip to ``[low, high]``; ``(v - mean) / std``; clip to
    ``±BOUND``. ``mode == "log_standardize"`` uses ``sign(x) log1p(|x|)`` as its squash and no
    clipping (``low``/``high`` infinite); ``mode == "none"`` is the identity.
    """

    name: str
    mode: str
    fill: float = 0.0
    center: float = 0.0
    scale: float = 1.0
    squash: bool = False
    low: float = -np.inf
    high: float = np.inf
    mean: float = 0.0
    std: float = 1.0

    def apply(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        """Prepared values of one raw column (any rows, e.g. a new applicant)."""
        x = np.asarray(values, dtype=np.float64)
        if self.mode == "none":
            return x.copy()
        x = np.where(np.isnan(x), self.fill, x)
        if self.mode == "log_standardize":
            if self.squash:
                x = np.sign(x) * np.log1p(np.abs(x))
            return (x - self.mean) / self.std
        u = (x - self.center) / self.scale
        if self.squash:
            u = np.arcsinh(u)
        u = np.clip(u, self.low, self.high)
        return np.clip((u - self.mean) / self.std, -BOUND, BOUND)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able parameters (infinite clip bounds as ``None``)."""
        return {
            "name": self.name,
            "mode": self.mode,
            "fill": self.fill,
            "center": self.center,
            "scale": self.scale,
            "squash": self.squash,
            "low": None if np.isinf(self.low) else self.low,
            "high": None if np.isinf(self.high) else self.high,
            "mean": self.mean,
            "std": self.std,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ColumnTransform:
        """Inverse of :meth:`to_dict` (raises ``KeyError``/``TypeError``/``ValueError``)."""
        low, high = raw["low"], raw["high"]
        return cls(
            name=str(raw["name"]),
            mode=str(raw["mode"]),
            fill=float(raw["fill"]),
            center=float(raw["center"]),
            scale=float(raw["scale"]),
            squash=bool(raw["squash"]),
            low=-np.inf if low is None else float(low),
            high=np.inf if high is None else float(high),
            mean=float(raw["mean"]),
            std=float(raw["std"]),
        )


@dataclass(frozen=True)
class Transform:
    """The fitted preparation of a holder's columns, in model order."""

    columns: tuple[ColumnTransform, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def apply(self, frame: pd.DataFrame) -> NDArray[np.float64]:
        """A rows x columns matrix of prepared values.

        Raises
        ------
        ValueError
            A column is missing or not numeric.
        """
        _check_columns(frame, self.names)
        if not self.columns:
            return np.zeros((len(frame), 0))
        return np.column_stack(
            [c.apply(frame[c.name].to_numpy(dtype=np.float64)) for c in self.columns]
        )

    def to_dict(self) -> list[dict[str, Any]]:
        return [c.to_dict() for c in self.columns]

    @classmethod
    def from_dict(cls, raw: Sequence[Mapping[str, Any]]) -> Transform:
        return cls(tuple(ColumnTransform.from_dict(c) for c in raw))


def _check_columns(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"columns {missing} are not in the dataset")
    for name in columns:
        if not pd.api.types.is_numeric_dtype(frame[name]):
            raise ValueError(f"column {name!r} is not numeric")


def _finite_std(values: NDArray[np.float64]) -> float:
    std = float(np.std(values)) if values.size else 0.0
    return std if std > 0 and np.isfinite(std) else 1.0


def _fit_robust(name: str, raw: NDArray[np.float64]) -> ColumnTransform:
    present = raw[~np.isnan(raw)]
    if present.size == 0:
        return ColumnTransform(name, "robust")
    fill = float(np.median(present))
    x = np.where(np.isnan(raw), fill, raw)
    q_lo, q1, med, q3, q_hi = np.quantile(
        x, [CLIP_QUANTILES[0], 0.25, 0.5, 0.75, CLIP_QUANTILES[1]]
    )
    iqr = q3 - q1
    scale = float(iqr / 1.349) if iqr > 0 else _finite_std(x)
    squash = bool((q_hi - q_lo) / scale > HEAVY_RANGE)
    u = (x - med) / scale
    if squash:
        u = np.arcsinh(u)
    low, high = (float(v) for v in np.quantile(u, CLIP_QUANTILES))
    u = np.clip(u, low, high)
    return ColumnTransform(
        name, "robust", fill, float(med), scale, squash, low, high, float(u.mean()), _finite_std(u)
    )


def _fit_log_standardize(name: str, raw: NDArray[np.float64]) -> ColumnTransform:
    present = raw[~np.isnan(raw)]
    fill = float(np.median(present)) if present.size else 0.0
    x = np.where(np.isnan(raw), fill, raw)
    squash = bool(np.abs(x).max(initial=0.0) > WIDE_RANGE)
    if squash:
        x = np.sign(x) * np.log1p(np.abs(x))
    return ColumnTransform(
        name, "log_standardize", fill, squash=squash, mean=float(x.mean()), std=_finite_std(x)
    )


def fit_transform(
    frame: pd.DataFrame,
    columns: Sequence[str],
    mode: str = DEFAULT_MODE,
    rows: NDArray[np.bool_] | None = None,
) -> Transform:
    """Fit the preparation of ``columns`` on ``frame`` (only ``rows`` when given).

    Raises
    ------
    ValueError
        ``mode`` is unknown, a column is missing or not numeric, or ``rows`` selects nothing.
    """
    if mode not in MODES:
        raise ValueError(f"preprocess must be one of {', '.join(MODES)}, got {mode!r}")
    _check_columns(frame, columns)
    if rows is not None and not rows.any():
        raise ValueError("no rows to fit the preparation on")
    fitted = []
    for name in columns:
        values = frame[name].to_numpy(dtype=np.float64)
        if rows is not None:
            values = values[rows]
        if mode == "none":
            fitted.append(ColumnTransform(name, "none"))
        elif mode == "robust":
            fitted.append(_fit_robust(name, values))
        else:
            fitted.append(_fit_log_standardize(name, values))
    return Transform(tuple(fitted))


def prepare_features(
    frame: pd.DataFrame, columns: Sequence[str], mode: str = "log_standardize"
) -> pd.DataFrame:
    """Return ``frame`` with ``columns`` prepared from statistics of all its rows.

    Raises
    ------
    ValueError
        ``mode`` is unknown, or a column is missing or not numeric.
    """
    transform = fit_transform(frame, columns, mode)
    out = frame.copy()
    if columns:
        out[list(columns)] = transform.apply(frame)
    return out
