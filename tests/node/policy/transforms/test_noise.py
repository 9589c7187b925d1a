"""Tests of additive noise: stated scale, nulls kept, rounding."""

from __future__ import annotations

import numpy as np
import pandas as pd

from node.policy.transforms import TransformContext, parse_transform


def _apply(values: np.ndarray, seed: int, **params) -> np.ndarray:
    column = pd.Series(values)
    ctx = TransformContext(
        b"k" * 32, "bank-a", pd.DataFrame({"v": column}), rng=np.random.default_rng(seed)
    )
    return parse_transform("noise", params).apply(column, ctx).to_numpy()


def test_laplace_noise_has_the_stated_scale() -> None:
    # prepare
    x = np.full(20_000, 1000.0)
    # execute
    noisy = _apply(x, seed=1, scale=50)
    # assert: Laplace(b) has mean absolute deviation b
    assert abs(np.mean(np.abs(noisy - x)) - 50) < 2.5
    assert abs(np.mean(noisy - x)) < 2.5


def test_gaussian_noise_has_the_stated_scale() -> None:
    x = np.zeros(20_000)
    noisy = _apply(x, seed=2, scale=10, distribution="gaussian")
    assert abs(np.std(noisy) - 10) < 0.5


def test_nulls_stay_null_and_rounding_applies() -> None:
    noisy = _apply(np.array([np.nan, 1234.0]), seed=3, scale=100, round_to=100)
    assert np.isnan(noisy[0])
    assert noisy[1] % 100 == 0


def test_draws_are_independent_across_calls() -> None:
    x = np.full(100, 5.0)
    assert not np.array_equal(_apply(x, seed=4, scale=1), _apply(x, seed=5, scale=1))
