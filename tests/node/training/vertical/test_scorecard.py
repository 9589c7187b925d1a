"""Tests for scorecard points scaling."""

from __future__ import annotations

import math

import numpy as np
import pytest

from node.jobs.exceptions import JobSpecError
from node.training.vertical import ScorecardScaling


def test_points_follow_the_stated_scale() -> None:
    # prepare: 600 points at good:bad odds 50:1, +20 points per doubling
    scale = ScorecardScaling(600, 50, 20, "good_to_bad")
    logit_at_base = -math.log(50)  # p_default / p_good = 1/50
    # execute
    points = scale.points([logit_at_base, logit_at_base - math.log(2)])
    # assert
    assert points == pytest.approx([600.0, 620.0])
    assert "600 points at good:bad odds of 50:1" in scale.describe()


def test_parts_add_up_to_total() -> None:
    # prepare
    scale = ScorecardScaling(500, 20, 40, "bad_to_good")
    parts = np.array([0.3, -1.2, 0.05])
    # execute
    total = scale.offset + scale.part_points(parts).sum()
    # assert
    assert total == pytest.approx(float(scale.points(parts.sum())))
    assert scale.points(math.log(20)) == pytest.approx(500.0)


@pytest.mark.parametrize(
    "args", [(600, 0, 20, "good_to_bad"), (600, 50, -1, "good_to_bad"), (600, 50, 20, "up")]
)
def test_bad_scaling_is_refused(args: tuple[float, float, float, str]) -> None:
    # execute / assert
    with pytest.raises(JobSpecError):
        ScorecardScaling(*args)  # type: ignore[arg-type]
