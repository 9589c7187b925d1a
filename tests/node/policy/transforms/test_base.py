"""Tests of node.policy.transforms.base: parameter parsing and column conversions."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from node.policy.exceptions import TransformError, TransformSpecError
from node.policy.transforms import TRANSFORMS, TransformContext, parse_transform
from node.policy.transforms.base import to_arrow_str, to_float


def test_every_family_is_registered() -> None:
    assert set(TRANSFORMS) == {
        "keep", "drop", "hash", "token", "mask", "bucket", "age_band", "region_prefix",
        "clip", "date_truncate", "date_shift", "noise",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("name", "params", "key"),
    [
        ("nope", {}, "type"),
        ("hash", {"length": 8}, "length"),
        ("hash", {"length": "long"}, "length"),
        ("hash", {"salt": "x"}, "salt"),
        ("noise", {}, "scale"),
        ("noise", {"scale": 1, "distribution": "cauchy"}, "distribution"),
        ("bucket", {"width": 1, "edges": [0, 1]}, "width"),
        ("bucket", {"edges": [3, 1]}, "edges"),
        ("bucket", {"edges": 5}, "edges"),
        ("clip", {}, "lower"),
        ("clip", {"lower": 5, "upper": 1}, "upper"),
        ("mask", {"style": "custom"}, "keep_first"),
        ("mask", {"keep_first": True}, "keep_first"),
        ("mask", {"style": "mobile", "char": "**"}, "char"),
        ("date_shift", {"max_days": 0}, "max_days"),
        ("date_truncate", {"unit": "day"}, "unit"),
        ("age_band", {"as_of": "yesterday"}, "as_of"),
        ("region_prefix", {"level": "street"}, "level"),
    ],
)
def test_bad_parameters_name_the_parameter(name: str, params: dict, key: str) -> None:
    with pytest.raises(TransformSpecError) as info:
        parse_transform(name, params)
    assert info.value.key == key and info.value.fix


def test_describe_shows_only_non_default_parameters() -> None:
    # execute
    t = parse_transform("bucket", {"edges": [0, 10.5], "output": "label"})
    # assert
    assert t.describe() == "bucket(edges=[0, 10.5], output=label)"
    assert parse_transform("keep", {}).describe() == "keep"


def test_integral_floats_become_text_without_decimal_point() -> None:
    # a phone column read with a missing value arrives as float64
    arr = to_arrow_str(pd.Series([13812345678.0, np.nan]))
    assert arr.to_pylist() == ["13812345678", None]


def test_to_float_refuses_text_without_quoting_it() -> None:
    # prepare
    secret = "11010519900101123X"
    ctx = TransformContext(os.urandom(32), "bank-a", pd.DataFrame(), field="x")
    # execute / assert
    with pytest.raises(TransformError) as info:
        to_float(pd.Series(["1", secret]), ctx, "bucket")
    assert secret not in str(info.value) and "1 values are not numbers" in str(info.value)
