"""PSI against hand-checked figures, and the reference's bins."""

from __future__ import annotations

import math

import numpy as np
import pytest

from node.monitoring.drift import Reference, drift_level, psi_from_shares, shares


def test_psi_matches_a_hand_computed_example() -> None:
    # prepare: four bins, reference 25/25/25/25 %, now 10/20/30/40 %
    expected, actual = [0.25, 0.25, 0.25, 0.25], [0.10, 0.20, 0.30, 0.40]
    # by hand: (0.10-0.25)ln(0.4) + (0.20-0.25)ln(0.8) + (0.30-0.25)ln(1.2) + (0.40-0.25)ln(1.6)
    #        = 0.137444 + 0.011157 + 0.009116 + 0.070500 = 0.228217
    # execute / assert
    assert psi_from_shares(expected, actual) == pytest.approx(0.228217, abs=1e-6)
    assert drift_level(0.228217) == "watch"
    assert drift_level(0.25) == "alert"
    assert drift_level(0.05) == "stable"


def test_reference_bins_values_by_cut_points() -> None:
    # prepare: cut points 1 and 2, values in (-inf,1], (1,2], (2,inf) and one missing
    values = np.array([0.5, 1.0, 1.5, 3.0, np.nan])
    # execute
    got = shares(values, [1.0, 2.0])
    # assert: 2, 1 and 1 of 5 finite in the three bins, 1 of 5 missing
    assert got == pytest.approx([0.4, 0.2, 0.2, 0.2])


def test_same_distribution_is_stable_and_a_shift_is_an_alert() -> None:
    rng = np.random.default_rng(3)
    reference = Reference.of(rng.normal(size=20_000))
    assert reference.psi(rng.normal(size=20_000)) < 0.01
    shifted = reference.psi(rng.normal(0.6, 1.0, size=20_000))
    assert shifted >= 0.25
    # round trip keeps the figure
    again = Reference.from_dict(reference.to_dict())
    assert again.psi(rng.normal(0.6, 1.0, size=20_000)) == pytest.approx(shifted, abs=0.02)
    assert math.isfinite(reference.psi(np.full(10, np.nan)))
