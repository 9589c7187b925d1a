"""Tests of date truncation and per-entity date shift."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from node.policy.exceptions import TransformError
from node.policy.transforms import TransformContext, parse_transform

FRAME = pd.DataFrame(
    {
        "firm": ["A", "A", "B", "C", None, "D"],
        "d1": ["2020-02-29", "2021-11-15", "2019-07-04", "not a date", "2020-01-01", None],
        "d2": ["2020-03-10", "2022-01-01", "2019-07-05", "2020-01-01", "2020-01-02", "2020-01-03"],
    }
)


def _ctx(key: bytes, recipient: str = "bank-a", frame: pd.DataFrame = FRAME) -> TransformContext:
    return TransformContext(key, recipient, frame, entity_field="firm", field="d1")


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ("year", ["2020-01-01", "2021-01-01", "2019-01-01", None, "2020-01-01", None]),
        ("quarter", ["2020-01-01", "2021-10-01", "2019-07-01", None, "2020-01-01", None]),
        ("month", ["2020-02-01", "2021-11-01", "2019-07-01", None, "2020-01-01", None]),
    ],
)
def test_truncate_string_dates(unit: str, expected: list) -> None:
    out = parse_transform("date_truncate", {"unit": unit}).apply(FRAME["d1"], _ctx(b"k" * 32))
    assert [None if pd.isna(v) else v for v in out] == expected


def test_truncate_keeps_datetime_columns_datetime() -> None:
    column = pd.Series(pd.to_datetime(["2020-05-17 13:45", None]))
    out = parse_transform("date_truncate", {"unit": "year"}).apply(column, _ctx(b"k" * 32))
    assert pd.api.types.is_datetime64_any_dtype(out.dtype)
    assert out[0] == pd.Timestamp("2020-01-01") and pd.isna(out[1])


def test_iso_timestamps_with_time_parse() -> None:
    column = pd.Series(["2020-05-17T13:45:00"])
    out = parse_transform("date_truncate", {"unit": "month"}).apply(column, _ctx(b"k" * 32))
    assert out.tolist() == ["2020-05-01"]


def _days(values: pd.Series) -> np.ndarray:
    return pd.to_datetime(values).to_numpy().astype("datetime64[D]").astype(np.int64)


def test_shift_is_per_entity_nonzero_bounded_and_keeps_intervals() -> None:
    # prepare
    key = os.urandom(32)
    t = parse_transform("date_shift", {"max_days": 10})
    # execute
    s1 = t.apply(FRAME["d1"], _ctx(key))
    s2 = t.apply(FRAME["d2"], _ctx(key))
    # assert: rows 0-2 have a firm and a date
    delta1 = _days(s1[:3]) - _days(FRAME["d1"][:3])
    delta2 = _days(s2[:3]) - _days(FRAME["d2"][:3])
    assert np.array_equal(delta1, delta2)  # same firm, same offset in every column
    assert delta1[0] == delta1[1]  # firm A's two rows
    assert np.all(delta1 != 0) and np.all(np.abs(delta1) <= 10)
    # no entity or no date: null, never the raw date
    assert s1[3:].isna().all()


def test_shift_differs_across_recipients_and_is_stable() -> None:
    # prepare: many firms so that equal offsets by chance are ruled out
    frame = pd.DataFrame({"firm": [f"F{i}" for i in range(200)], "d1": ["2020-01-01"] * 200})
    key = os.urandom(32)
    t = parse_transform("date_shift", {"max_days": 365})
    # execute
    a = t.apply(frame["d1"], _ctx(key, "bank-a", frame))
    a2 = t.apply(frame["d1"], _ctx(key, "bank-a", frame))
    b = t.apply(frame["d1"], _ctx(key, "bank-b", frame))
    # assert
    assert a.equals(a2)
    assert (a != b).mean() > 0.9
    assert (a != "2020-01-01").all()


def test_shift_without_entity_column_is_refused() -> None:
    ctx = TransformContext(b"k" * 32, "bank-a", FRAME[["d1"]], entity_field="firm", field="d1")
    with pytest.raises(TransformError, match="entity column"):
        parse_transform("date_shift", {"max_days": 5}).apply(FRAME["d1"], ctx)
