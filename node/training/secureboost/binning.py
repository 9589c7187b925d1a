"""Quantile bins each party computes on its own columns; nothing here leaves the party.

A column's bin edges are cut at its training rows' quantiles (at most ``bins`` value bins) and
placed halfway between neighbouring distinct values, so a split "bin <= t" is the rule
"value <= edges[t]" on raw values as well (what prediction uses) and the stored threshold is
not itself a value any row holds. A missing value (NaN) gets its own bin after the value bins;
split finding learns which side it goes to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from node.training.vertical.exceptions import DataMismatch


@dataclass(frozen=True)
class ColumnBins:
    """The bins of one column: ``edges`` ascending, ``len(edges) + 1`` value bins.

    ``bin(x)`` is the number of edges below ``x``; the missing bin is ``value_bins``.
    """

    name: str
    edges: NDArray[np.float64]

    @property
    def value_bins(self) -> int:
        return len(self.edges) + 1

    @property
    def slots(self) -> int:
        """Histogram slots of this column: its value bins and the missing bin."""
        return self.value_bins + 1

    def threshold(self, threshold_bin: int) -> float | None:
        """The raw-value threshold of "bin <= threshold_bin"; ``None`` when that is every
        present value (the last value bin: the split separates present from missing)."""
        if threshold_bin >= len(self.edges):
            return None
        return float(self.edges[threshold_bin])


@dataclass(frozen=True)
class BinnedColumns:
    """A party's columns as bin codes (rows x columns, missing = that column's value_bins)."""

    columns: tuple[ColumnBins, ...]
    codes: NDArray[np.uint8]

    @property
    def slots(self) -> NDArray[np.int64]:
        return np.array([c.slots for c in self.columns], dtype=np.int64)


def load_columns(party: str, frame: pd.DataFrame, names: Sequence[str]) -> NDArray[np.float64]:
    """The named columns as floats (rows x columns); NaN marks a missing value.

    Raises
    ------
    DataMismatch
        A column is missing, not numeric, or holds an infinite value (named, no values).
    """
    absent = [n for n in names if n not in frame.columns]
    if absent:
        raise DataMismatch(party, f"columns {', '.join(absent)} are not in the dataset")
    out = np.empty((len(frame), len(names)), dtype=np.float64)
    for j, name in enumerate(names):
        series = frame[name]
        if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
            raise DataMismatch(party, f"column {name!r} is not numeric")
        out[:, j] = series.to_numpy(dtype=np.float64, na_value=np.nan)
        if np.isinf(out[:, j]).any():
            raise DataMismatch(party, f"column {name!r} holds an infinite value")
    return out


def quantile_edges(values: NDArray[np.float64], bins: int) -> NDArray[np.float64]:
    """Edges for at most ``bins`` value bins of ``values`` (NaN ignored).

    Few distinct values get one bin each; otherwise the cut points are the ``i / bins``
    quantiles (lower data value), deduplicated, each moved up to the midpoint before the next
    distinct value. A column with one distinct value (or none) has no edges.
    """
    present = np.unique(values[~np.isnan(values)])
    if len(present) <= 1:
        return np.empty(0, dtype=np.float64)
    if len(present) <= bins:
        cuts = present[:-1]
    else:
        quantiles = np.quantile(
            values[~np.isnan(values)], np.arange(1, bins) / bins, method="lower"
        )
        cuts = np.unique(quantiles)
        cuts = cuts[cuts < present[-1]]
    after = present[np.searchsorted(present, cuts, side="right")]
    return (cuts + (after - cuts) / 2.0).astype(np.float64)


def bin_codes(values: NDArray[np.float64], edges: NDArray[np.float64]) -> NDArray[np.uint8]:
    """Bin code of every value under ``edges``; NaN gets the missing code ``len(edges) + 1``."""
    codes = np.searchsorted(edges, values, side="left")
    codes[np.isnan(values)] = len(edges) + 1
    return codes.astype(np.uint8)


def bin_columns(
    names: Sequence[str], values: NDArray[np.float64], train: NDArray[np.bool_], bins: int
) -> BinnedColumns:
    """Cut every column at its training rows' quantiles and code all rows."""
    columns = tuple(
        ColumnBins(name, quantile_edges(values[train, j], bins)) for j, name in enumerate(names)
    )
    codes = np.empty(values.shape, dtype=np.uint8)
    for j, column in enumerate(columns):
        codes[:, j] = bin_codes(values[:, j], column.edges)
    return BinnedColumns(columns, codes)


def goes_left(
    codes: NDArray[np.uint8], threshold_bin: int, value_bins: int, missing_left: bool
) -> NDArray[np.bool_]:
    """Which coded rows a split "bin <= threshold_bin" sends left (missing by ``missing_left``)."""
    left = codes <= threshold_bin
    missing = codes == value_bins
    return np.where(missing, missing_left, left)
