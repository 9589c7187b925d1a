"""Tests for the holders' local column preparation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from node.training.preprocess import BOUND, Transform, fit_transform, prepare_features


def _heavy_frame(rows: int = 2000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    amount = np.exp(rng.normal(8, 1.5, rows))
    amount[:5] *= 1e4  # outliers thousands of times the median
    flag = (rng.random(rows) < 0.1).astype(float)
    ratio = rng.normal(0, 1, rows)
    ratio[10:20] = np.nan
    return pd.DataFrame({"amount": amount, "flag": flag, "ratio": ratio})


def test_robust_preparation_tames_heavy_tails_and_is_scale_free() -> None:
    # prepare
    frame = _heavy_frame()
    rescaled = frame.assign(amount=frame["amount"] * 1e4)
    rows = np.arange(len(frame)) < 1500
    # execute
    transform = fit_transform(frame, ["amount", "flag", "ratio"], "robust", rows)
    prepared = transform.apply(frame)
    again = fit_transform(rescaled, ["amount", "flag", "ratio"], "robust", rows).apply(rescaled)
    # assert
    assert np.isfinite(prepared).all() and np.abs(prepared).max() <= BOUND
    np.testing.assert_allclose(prepared[rows].mean(axis=0), 0, atol=1e-9)
    squashed = {c.name: c.squash for c in transform.columns}
    assert squashed == {"amount": True, "flag": False, "ratio": False}
    assert prepared[:5, 0].max() < 4  # the outliers are clipped, not thousands of sds out
    np.testing.assert_allclose(prepared, again, atol=1e-9)  # units do not matter
    assert prepared[10, 2] == pytest.approx(transform.columns[2].apply(np.array([np.nan]))[0])


def test_transform_is_fitted_on_the_given_rows_only() -> None:
    # prepare
    frame = _heavy_frame()
    rows = np.arange(len(frame)) < 1000
    changed = frame.copy()
    changed.loc[~rows, "ratio"] = 1e6  # only rows outside the fit change
    # execute
    first = fit_transform(frame, ["ratio"], "robust", rows)
    second = fit_transform(changed, ["ratio"], "robust", rows)
    # assert
    assert first == second
    assert Transform.from_dict(first.to_dict()) == first


def test_prepare_features_keeps_the_earlier_recipe_and_refuses_bad_input() -> None:
    # prepare
    frame = pd.DataFrame({"a": [1.0, 1000.0, np.nan], "b": [0.0, 1.0, 2.0], "id": ["x"] * 3})
    # execute
    out = prepare_features(frame, ["a", "b"])
    # assert
    logged = np.log1p(np.array([1.0, 1000.0, 500.5]))
    np.testing.assert_allclose(out["a"], (logged - logged.mean()) / logged.std())
    assert out["id"].tolist() == ["x"] * 3
    with pytest.raises(ValueError, match="not numeric"):
        fit_transform(frame, ["id"])
    with pytest.raises(ValueError, match="preprocess must be one of"):
        fit_transform(frame, ["a"], "zscore")
