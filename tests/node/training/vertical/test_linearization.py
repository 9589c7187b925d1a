"""Tests for the label holder's linear stand-in for sigmoid(a + h)."""

from __future__ import annotations

import numpy as np

from node.training.calibration import sigmoid
from node.training.vertical.linearization import Linearization


def test_tangent_is_the_expansion_at_zero() -> None:
    # prepare
    a = np.array([-2.0, 0.0, 1.5])
    # execute
    prob, slope, center = Linearization.tangent().coefficients(a)
    # assert
    np.testing.assert_allclose(prob, sigmoid(a))
    np.testing.assert_allclose(slope, sigmoid(a) * (1 - sigmoid(a)))
    assert center.tolist() == [0.0, 0.0, 0.0]


def test_moment_matched_line_fits_where_h_lies_better_than_the_tangent() -> None:
    # prepare: the hosts' part is large and shifted, as when they carry most of the signal
    rng = np.random.default_rng(3)
    a = rng.normal(-2.0, 0.7, 4000)
    h = rng.normal(0.8, 1.5, 4000)
    fitted = Linearization.fit(a, h)
    truth = sigmoid(a + h)

    def error(lin: Linearization) -> float:
        prob, slope, center = lin.coefficients(a)
        return float(np.mean((prob + slope * (h - center) - truth) ** 2))

    # execute / assert
    assert len(fitted.means) == 10 and np.all(fitted.variances > 1.5)
    assert error(fitted) < 0.5 * error(Linearization.tangent())
    assert Linearization.from_dict(fitted.to_dict()).edges.tolist() == fitted.edges.tolist()
