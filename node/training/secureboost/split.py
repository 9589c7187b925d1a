"""Split finding on exact integer histograms: the label holder's choice across all parties.

The gain of sending the rows with ``bin <= t`` (and, by the learned default direction, the
missing ones) left is XGBoost's structure-score gain

    gain = GL^2 / (HL + l2) + GR^2 / (HR + l2) - G^2 / (H + l2)

(no factor 1/2, so ``min_gain`` means what XGBoost's ``gamma`` means). Every sum is an integer
with ``frac_bits`` fractional bits, converted to float once; the encrypted run, the plaintext
twin and any re-run therefore evaluate the same floating-point expressions on the same numbers
and pick the same split. Ties go to the first candidate in a fixed order: parties as in the job
file, then columns, then "missing right" candidates before "missing left" ones, each by
threshold. The threshold ``value_bins - 1`` (missing right only) separates the rows with a
value from those without one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

MIN_GAIN_EPS = 1e-6
"""A split must improve the structure score by more than this (XGBoost's ``kRtEps``)."""


@dataclass(frozen=True)
class Histogram:
    """One party's histograms at one node: per active column, its value bins then missing.

    ``columns`` are indices into the party's feature list; ``slots[i]`` is the number of
    slots of column ``columns[i]``; ``g`` and ``h`` hold the integer sums, concatenated.
    """

    party: str
    columns: tuple[int, ...]
    slots: NDArray[np.int64]
    g: NDArray[np.int64]
    h: NDArray[np.int64]

    def __sub__(self, other: Histogram) -> Histogram:
        """The sibling's histogram: this node's minus the other child's, slot by slot."""
        return Histogram(self.party, self.columns, self.slots, self.g - other.g, self.h - other.h)


@dataclass(frozen=True)
class Split:
    """The best split of a node: who owns it, on which column and bin, and its gain."""

    party: str
    column: int
    threshold_bin: int
    missing_left: bool
    gain: float


@dataclass(frozen=True)
class SplitRules:
    """The regularisation that decides whether and where a node splits."""

    l2: float
    min_child_weight: float
    min_gain: float
    frac_bits: int


def _score(g: NDArray[np.float64], h: NDArray[np.float64], l2: float) -> NDArray[np.float64]:
    return g * g / (h + l2)


def _column_best(
    g: NDArray[np.int64],
    h: NDArray[np.int64],
    total_g: int,
    total_h: int,
    rules: SplitRules,
) -> tuple[float, int, bool] | None:
    """Best (gain, threshold bin, missing_left) of one column's slots, or None."""
    value_bins = len(g) - 1
    if value_bins < 1:
        return None
    scale = float(1 << rules.frac_bits)
    present_g, present_h = np.cumsum(g[:-1]), np.cumsum(h[:-1])
    # missing right: thresholds 0..V-1 (the last splits present from missing values);
    # missing left: thresholds 0..V-2
    cand_g = np.concatenate([present_g, present_g[:-1] + g[-1]])
    cand_h = np.concatenate([present_h, present_h[:-1] + h[-1]])
    gl, hl = cand_g / scale, cand_h / scale
    gr, hr = (total_g - cand_g) / scale, (total_h - cand_h) / scale
    parent = total_g / scale * (total_g / scale) / (total_h / scale + rules.l2)
    gain = _score(gl, hl, rules.l2) + _score(gr, hr, rules.l2) - parent
    floor = max(rules.min_child_weight, 1.0 / scale)
    valid = (hl >= floor) & (hr >= floor)
    if not valid.any():
        return None
    gain = np.where(valid, gain, -np.inf)
    best = int(np.argmax(gain))
    if best < value_bins:
        return float(gain[best]), best, False
    return float(gain[best]), best - value_bins, True


def best_split(
    histograms: Sequence[Histogram], total_g: int, total_h: int, rules: SplitRules
) -> Split | None:
    """The best split over every party's histograms at one node, or None if none is worth it."""
    best: Split | None = None
    threshold = max(rules.min_gain, MIN_GAIN_EPS)
    for hist in histograms:
        start = 0
        for column, slots in zip(hist.columns, hist.slots.tolist(), strict=True):
            stop = start + slots
            found = _column_best(hist.g[start:stop], hist.h[start:stop], total_g, total_h, rules)
            start = stop
            if found is None:
                continue
            gain, threshold_bin, missing_left = found
            if gain > threshold and (best is None or gain > best.gain):
                best = Split(hist.party, column, threshold_bin, missing_left, gain)
    return best


def leaf_weight(total_g: int, total_h: int, rules: SplitRules, learning_rate: float) -> float:
    """The shrunk Newton step ``-lr G / (H + l2)`` of a leaf."""
    scale = float(1 << rules.frac_bits)
    return -learning_rate * (total_g / scale) / (total_h / scale + rules.l2)
