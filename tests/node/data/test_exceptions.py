"""Dataset errors render position and fix, and carry them as attributes."""

from __future__ import annotations

from pathlib import Path

from node.data.exceptions import DatasetError, MissingValueError, WrongTypeError


def test_message_names_file_column_rows_lines_and_fix() -> None:
    # execute
    err = WrongTypeError(
        Path("bank.csv"), "the value is not of type int", "write a whole number",
        column="loan_term_months", rows=(3, 9), lines=(4, 10), count=7,
    )  # fmt: skip
    # assert
    assert str(err) == (
        "bank.csv: column 'loan_term_months': data rows 3, 9 and 5 more (file lines 4, 10): "
        "the value is not of type int. Fix: write a whole number"
    )
    assert (err.row, err.line, err.count, err.rows) == (3, 4, 7, (3, 9))
    assert isinstance(err, DatasetError)


def test_whole_file_error_has_no_position() -> None:
    err = DatasetError("x.parquet", "the file is empty", "add rows")
    assert str(err) == "x.parquet: the file is empty. Fix: add rows"
    assert err.row is None and err.column is None and err.count == 0


def test_missing_value_kind() -> None:
    err = MissingValueError("d.csv", "infinite", "fix it", kind="infinite", column="a", rows=(1,))
    assert err.kind == "infinite" and "data row 1:" in str(err)
