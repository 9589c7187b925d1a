"""Optional weight-of-evidence (WOE) binning of each party's columns, before training.

Each party cuts each of its columns into quantile bins on the training rows, locally. A bin's WOE
is ``ln(share of goods in the bin / share of bads in the bin)`` (Siddiqi's convention: higher is
safer), with 0.5 added to every count so empty classes stay finite. The label holder computes its
own tables directly. A feature holder has no labels: it learns only the *number of defaults per
bin of its own columns*, through the key holder, from encrypted labels (see
``docs/protocols/vertical-lr.md``). Bins with fewer than ``min_bin_rows`` rows are not asked about
(their count would say too much about too few firms) and get WOE 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

SMOOTHING = 0.5


def min_bin_rows(train_rows: int) -> int:
    """The smallest bin whose default count may be revealed: 2% of rows, at least 50."""
    return max(50, train_rows // 50)


@dataclass(frozen=True)
class WoeTable:
    """One column's bins: ``edges`` (interior cut points) and the WOE of each bin."""

    edges: NDArray[np.float64]
    woe: NDArray[np.float64]

    def apply(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        """The WOE of each value's bin."""
        return self.woe[assign_bins(values, self.edges)]

    def to_dict(self) -> dict[str, Any]:
        return {"edges": self.edges.tolist(), "woe": self.woe.tolist()}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> WoeTable:
        return cls(np.array(raw["edges"], dtype=np.float64), np.array(raw["woe"], dtype=np.float64))


def quantile_edges(values: NDArray[np.float64], bins: int) -> NDArray[np.float64]:
    """``bins - 1`` interior cut points at the quantiles of ``values`` (ties may repeat)."""
    return np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1])


def assign_bins(values: NDArray[np.float64], edges: NDArray[np.float64]) -> NDArray[np.int64]:
    """Bin index of each value: ``0 .. len(edges)``."""
    return np.searchsorted(edges, values, side="right").astype(np.int64)


def bin_indicators(
    bins: NDArray[np.int64], count: int, allowed: NDArray[np.bool_]
) -> NDArray[np.int64]:
    """A rows x ``count`` 0/1 matrix: row ``i`` has a 1 in the column of its bin, if allowed."""
    out = np.zeros((len(bins), count), dtype=np.int64)
    out[np.arange(len(bins)), bins] = 1
    out[:, ~allowed] = 0
    return out


def woe_from_counts(
    positives: NDArray[np.int64], sizes: NDArray[np.int64], allowed: NDArray[np.bool_]
) -> NDArray[np.float64]:
    """WOE per bin from default counts and bin sizes; disallowed bins get 0."""
    pos = np.where(allowed, positives, 0).astype(np.float64)
    neg = np.where(allowed, sizes - positives, 0).astype(np.float64)
    total_pos, total_neg = pos.sum(), neg.sum()
    k = len(sizes)
    good = (neg + SMOOTHING) / (total_neg + SMOOTHING * k)
    bad = (pos + SMOOTHING) / (total_pos + SMOOTHING * k)
    return np.where(allowed, np.log(good / bad), 0.0)
