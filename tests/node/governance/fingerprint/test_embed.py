"""Marking a whole frame: carriers, skipped fields, types kept, spec round trip."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from node.governance.fingerprint import SCHEME, FingerprintSpec, Step, embed_frame


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    return pd.DataFrame(
        {
            "token": [f"tk_{i:032x}" for i in range(300)],
            "growth": np.round(rng.normal(0.0, 0.3, 300), 4),
            "count": pd.Series(rng.integers(0, 50, 300), dtype="int64"),
            "amount": np.round(rng.lognormal(10, 1, 300), 2),
        }
    )


def test_only_columns_with_a_tolerance_change() -> None:
    frame = _frame()
    out, spec = embed_frame(frame, {"growth": 0.001, "amount": 1.0}, os.urandom(32))
    assert set(spec.steps) == {"growth", "amount"}
    pd.testing.assert_series_equal(out["token"], frame["token"])
    pd.testing.assert_series_equal(out["count"], frame["count"])
    assert (out["growth"] - frame["growth"]).abs().max() <= 0.001
    assert (out["amount"] - frame["amount"]).abs().max() <= 1.0
    assert spec.cells > 500


def test_integer_columns_stay_integer_or_are_skipped() -> None:
    frame = _frame()
    out, spec = embed_frame(frame, {"count": 2.0}, os.urandom(32))
    assert out["count"].dtype == frame["count"].dtype
    assert (out["count"] - frame["count"]).abs().max() <= 2
    _, spec = embed_frame(frame, {"count": 0.5}, os.urandom(32))
    assert spec.skipped == {"count": "integer values need a tolerance of at least 1"}


def test_text_and_empty_columns_are_named_as_skipped() -> None:
    frame = _frame().assign(empty=np.nan)
    _, spec = embed_frame(frame, {"token": 1.0, "empty": 1.0, "absent": 1.0}, os.urandom(32))
    assert spec.skipped == {"token": "values are not numbers", "empty": "no values"}
    assert not spec.steps


def test_spec_round_trips_through_its_plain_form() -> None:
    spec = FingerprintSpec(
        SCHEME, {"growth": Step(5, 10000)}, 120, {"token": "values are not numbers"}
    )
    assert FingerprintSpec.from_dict(spec.to_dict()) == spec


def test_an_unknown_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fingerprint scheme"):
        FingerprintSpec.from_dict({"scheme": "other/v9", "steps": {}})
