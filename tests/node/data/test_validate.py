"""Validation of in-memory frames (what the loader calls after reading a file)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from node.data.exceptions import DuplicateIdError, MissingValueError, WrongTypeError
from node.data.schema import schema_from_dict
from node.data.validate import MAX_ROWS_SHOWN, Where, check_field, validate_frame


def test_frame_is_converted_in_schema_order(schema_dict, rows) -> None:
    # prepare: columns in a different order from the schema
    frame = pd.DataFrame(
        rows, columns=["uscc", "amount", "count", "opened", "active", "phone", "y"]
    )
    frame = frame[list(reversed(frame.columns))]
    schema = schema_from_dict(schema_dict)

    # execute
    out = validate_frame(frame, schema, Where(Path("mem")))

    # assert
    assert list(out.columns) == list(schema.columns)
    assert out["amount"].tolist() == [1500.5, 20.0, 7.25, 0.0]


def test_without_lines_only_rows_are_named(schema_dict, rows) -> None:
    # prepare
    rows[1][0] = rows[0][0]
    frame = pd.DataFrame(
        rows, columns=["uscc", "amount", "count", "opened", "active", "phone", "y"]
    )
    # execute
    with pytest.raises(DuplicateIdError) as info:
        validate_frame(frame, schema_from_dict(schema_dict), Where(Path("mem")))
    # assert
    assert info.value.line is None and "file line" not in str(info.value)
    assert "data rows 1, 2:" in str(info.value)


def test_where_caps_named_rows() -> None:
    # execute
    refs = Where(Path("f.csv"), line_of=np.arange(10, 30)).rows(np.ones(20, dtype=bool))
    # assert
    assert len(refs["rows"]) == MAX_ROWS_SHOWN and refs["count"] == 20
    assert refs["lines"][0] == 10


def test_bool_column_of_integers_other_than_0_1(schema_dict) -> None:
    schema = schema_from_dict(schema_dict)
    with pytest.raises(WrongTypeError):
        check_field(pd.Series([0, 1, 2]), schema.spec("active"), schema, Where(Path("p")))


def test_bool_is_not_a_number(schema_dict) -> None:
    schema = schema_from_dict(schema_dict)
    with pytest.raises(WrongTypeError):
        check_field(pd.Series([True, False]), schema.spec("amount"), schema, Where(Path("p")))


def test_float_nan_in_required_numeric_column(schema_dict) -> None:
    schema = schema_from_dict(schema_dict)
    with pytest.raises(MissingValueError) as info:
        check_field(pd.Series([1.0, np.nan]), schema.spec("amount"), schema, Where(Path("p")))
    assert info.value.kind == "missing" and info.value.row == 2


def test_large_integers_stay_exact(schema_dict) -> None:
    # prepare: a value above 2**53, which a float64 round trip would change
    schema = schema_from_dict(schema_dict)
    big = 2**53 + 1
    # execute
    out = check_field(
        pd.Series([big, 1], dtype="int64"), schema.spec("count"), schema, Where(Path("p"))
    )
    # assert
    assert out.iloc[0] == big
