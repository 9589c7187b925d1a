"""Population stability index (PSI): how far a score's or input's distribution has moved.

``PSI = sum_i (a_i - e_i) * ln(a_i / e_i)`` over bins, with ``e_i`` the reference share of
bin ``i`` and ``a_i`` the current share. The bins are the reference's deciles (cut points
kept, values never), and an empty bin counts as a share of ``FLOOR`` so the sum stays finite.
The usual reading (Siddiqi, *Credit Risk Scorecards*, 2006): below 0.10 stable, 0.10 to 0.25
a shift worth watching, 0.25 and above a shift that needs action. A reference is only cut
points and shares, so a holder can keep and report it without keeping any firm's value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

WATCH: Final = 0.10
ALERT: Final = 0.25
BINS: Final = 10
FLOOR: Final = 1e-4


def psi_from_shares(expected: Sequence[float], actual: Sequence[float]) -> float:
    """PSI of two share vectors over the same bins (each summing to 1)."""
    e = np.maximum(np.asarray(expected, dtype=np.float64), FLOOR)
    a = np.maximum(np.asarray(actual, dtype=np.float64), FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def drift_level(value: float) -> str:
    """``stable``, ``watch`` (>= 0.10) or ``alert`` (>= 0.25)."""
    return "alert" if value >= ALERT else "watch" if value >= WATCH else "stable"


@dataclass(frozen=True)
class Reference:
    """A distribution to compare against: inner cut points and the share in each bin.

    Missing values have their own bin (the last share), so a feed that starts sending holes
    shows up as drift too.
    """

    cuts: tuple[float, ...]
    shares: tuple[float, ...]

    @classmethod
    def of(cls, values: NDArray[np.float64], bins: int = BINS) -> Reference:
        """The reference of ``values``: decile cut points (distinct) and their shares."""
        values = np.asarray(values, dtype=np.float64)
        finite = values[np.isfinite(values)]
        if finite.size:
            qs = np.quantile(finite, np.linspace(0, 1, bins + 1)[1:-1])
            cuts = tuple(float(c) for c in np.unique(qs))
        else:
            cuts = ()
        return cls(cuts, tuple(shares(values, cuts)))

    def psi(self, values: NDArray[np.float64]) -> float:
        """PSI of ``values`` against this reference."""
        return psi_from_shares(self.shares, shares(values, self.cuts))

    def to_dict(self) -> dict[str, Any]:
        return {"cuts": list(self.cuts), "shares": list(self.shares)}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Reference:
        return cls(tuple(float(c) for c in raw["cuts"]), tuple(float(s) for s in raw["shares"]))


def shares(values: NDArray[np.float64], cuts: Sequence[float]) -> list[float]:
    """Share of ``values`` in each bin ``(-inf, c0], (c0, c1], ..., (c_last, inf)``, then NaN."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return [0.0] * (len(cuts) + 2)
    finite = np.isfinite(values)
    counts = np.bincount(
        np.searchsorted(np.asarray(cuts), values[finite], side="left"), minlength=len(cuts) + 1
    )
    out = [*(counts / values.size).tolist(), float((~finite).sum() / values.size)]
    return out
