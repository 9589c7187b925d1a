"""Turning log-odds into scorecard points with explicit, stated scaling.

Credit scorecards report ``points = offset + factor * ln(odds)``, where ``factor =
points_to_double_odds / ln 2`` and ``offset = base_points - factor * ln(base_odds)``, so a
firm at ``base_odds`` scores ``base_points`` and every doubling of the odds adds
``points_to_double_odds``. Which odds is stated too: ``good_to_bad`` (higher points = safer,
the usual convention) or ``bad_to_good``. Nothing here has a default: a scorecard whose scale
was not written down in the job file cannot be compared with another.

The logistic model's ``logit = ln(p_default / (1 - p_default))`` is a sum of parts (one per
party plus the intercept), so points split the same way: each party can turn its own part into
points locally, and only the sum is ever assembled, at the label holder.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from node.jobs.exceptions import JobSpecError

_KEY = "vertical.scorecard"  # where the scaling sits in the job file

OddsDirection = Literal["good_to_bad", "bad_to_good"]


@dataclass(frozen=True)
class ScorecardScaling:
    """Points scaling: ``base_points`` at ``base_odds``; ``points_to_double_odds`` per doubling.

    Raises
    ------
    JobSpecError
        Non-positive odds or doubling points, or an unknown odds direction.
    """

    base_points: float
    base_odds: float
    points_to_double_odds: float
    odds: OddsDirection

    def __post_init__(self) -> None:
        if not self.base_odds > 0:
            raise JobSpecError(
                "job file", "must be positive", key=f"{_KEY}.base_odds", fix="e.g. 50 (50:1)"
            )
        if not self.points_to_double_odds > 0:
            raise JobSpecError(
                "job file",
                "must be positive",
                key=f"{_KEY}.points_to_double_odds",
                fix="e.g. 20 points",
            )
        if self.odds not in ("good_to_bad", "bad_to_good"):
            raise JobSpecError(
                "job file",
                f"unknown direction {self.odds!r}",
                key=f"{_KEY}.odds",
                fix="use good_to_bad or bad_to_good",
            )

    @property
    def factor(self) -> float:
        """Points per unit of ln(odds)."""
        return self.points_to_double_odds / math.log(2)

    @property
    def offset(self) -> float:
        """Points at odds 1:1."""
        return self.base_points - self.factor * math.log(self.base_odds)

    @property
    def _sign(self) -> float:
        # ln(good:bad odds) = -logit(p_default)
        return -1.0 if self.odds == "good_to_bad" else 1.0

    def points(self, logit: ArrayLike) -> NDArray[np.float64]:
        """Total points for total logits ``ln(p_default / (1 - p_default))``."""
        return self.offset + self._sign * self.factor * np.asarray(logit, dtype=np.float64)

    def part_points(self, partial_logit: ArrayLike) -> NDArray[np.float64]:
        """Points of one party's (or one feature's) part of the logit, without the offset."""
        return self._sign * self.factor * np.asarray(partial_logit, dtype=np.float64)

    def describe(self) -> str:
        """One line stating the scale, for reports."""
        odds = "good:bad" if self.odds == "good_to_bad" else "bad:good"
        return (
            f"{self.base_points:g} points at {odds} odds of {self.base_odds:g}:1, "
            f"+{self.points_to_double_odds:g} points each time the {odds} odds double"
        )
