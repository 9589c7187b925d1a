"""Tests of buckets, age bands, region prefixes and top/bottom coding."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from node.policy.exceptions import TransformError
from node.policy.transforms import TransformContext, parse_transform


def _apply(name: str, values: list, **params) -> list:
    column = pd.Series(values)
    ctx = TransformContext(os.urandom(32), "bank-a", pd.DataFrame({"v": column}), field="v")
    out = parse_transform(name, params).apply(column, ctx)
    return [None if pd.isna(v) else v for v in out]


def test_bucket_by_width_keeps_numbers_numeric() -> None:
    assert _apply("bucket", [0, 9999.99, 10000, -1, None], width=10000) == [
        0.0, 0.0, 10000.0, -10000.0, None,
    ]  # fmt: skip
    assert _apply("bucket", [5, 25], width=10, output="midpoint") == [5.0, 25.0]
    assert _apply("bucket", [7], width=10, origin=5) == [5.0]


def test_bucket_by_edges_codes_the_tails_into_the_outer_buckets() -> None:
    assert _apply("bucket", [-5, 0, 10, 99, 100, 1e9, None], edges=[0, 10, 100]) == [
        0.0, 0.0, 10.0, 10.0, 10.0, 10.0, None,
    ]  # fmt: skip
    assert _apply("bucket", [3, 50], edges=[0, 10, 100], output="label") == ["[0, 10)", "[10, 100)"]


def test_bucket_refuses_text() -> None:
    with pytest.raises(TransformError, match="not numbers"):
        _apply("bucket", ["abc"], width=10)


def test_bucket_of_an_empty_column() -> None:
    assert _apply("bucket", [], width=10) == []


def test_age_bands_from_ages() -> None:
    assert _apply("age_band", [0, 29, 30, 79.5, 80, 104, None, -3]) == [
        "0-9", "20-29", "30-39", "70-79", "80+", "80+", None, "0-9",
    ]  # fmt: skip
    assert _apply("age_band", [47], width=5, top=60) == ["45-49"]


def test_age_bands_from_dates_of_birth_at_a_reference_date() -> None:
    out = _apply("age_band", ["1990-06-30", "2000-01-01", "not a date", None], as_of="2025-06-30")
    assert out == ["30-39", "20-29", None, None]


def test_age_bands_from_dates_need_a_reference_date() -> None:
    with pytest.raises(TransformError, match="as_of"):
        _apply("age_band", ["1990-06-30"])


def test_region_prefix_province_and_city() -> None:
    values = ["110105", 440305, "44030", "abcdef", None, ""]
    assert _apply("region_prefix", values) == ["110000", "440000", None, None, None, None]
    assert _apply("region_prefix", ["440305"], level="city") == ["440300"]


def test_clip_top_and_bottom_codes() -> None:
    assert _apply("clip", [-100, 5, 1e12, None], lower=0, upper=1000) == [0.0, 5.0, 1000.0, None]
    assert _apply("clip", [5, 1e12], upper=100) == [5.0, 100.0]
    assert _apply("clip", [-5, 3], lower=0) == [0.0, 3.0]


def test_boolean_column_is_numeric() -> None:
    assert _apply("clip", [True, False], upper=0.5) == [0.5, 0.0]


def test_nan_and_inf_handling_in_buckets() -> None:
    out = _apply("bucket", [np.inf, -np.inf], edges=[0, 10])
    assert out == [0.0, 0.0]
