"""Loading datasets: every refusal is tested with a broken file, and no message leaks a value."""

from __future__ import annotations

import logging
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from node.data import uscc
from node.data.exceptions import (
    DatasetError,
    DuplicateIdError,
    EmptyIdError,
    InvalidIdError,
    MissingColumnError,
    MissingValueError,
    SchemaError,
    UnexpectedColumnError,
    UnreadableFileError,
    WrongTypeError,
)
from node.data.loader import LoadedDataset, load_dataset

COLUMNS = ["uscc", "amount", "count", "opened", "active", "phone", "y"]


def _said(err: DatasetError) -> str:
    """The message without the file path (pytest puts test parameters into tmp paths)."""
    return str(err).replace(str(err.path), "<file>")


def _refused(path: Path, schema: object, error: type[DatasetError]) -> DatasetError:
    with pytest.raises(error) as info:
        load_dataset(path, schema)  # type: ignore[arg-type]
    return info.value


def test_valid_csv_loads_with_declared_types(csv_file, schema_dict, rows, tmp_path) -> None:
    # prepare: the schema as a real YAML file, ids written in lower case with spaces
    schema_path = tmp_path / "loans.schema.yaml"
    schema_path.write_text(yaml.safe_dump(schema_dict), encoding="utf-8")
    rows[0][0] = "  " + rows[0][0].lower() + " "
    path = csv_file()

    # execute
    ds = load_dataset(path, schema_path)

    # assert: normalised ids, converted types, schema order
    assert isinstance(ds, LoadedDataset)
    assert ds.name == "loans" and len(ds) == 4 and ds.path == path
    assert ds.ids[0] == rows[0][0].strip().upper()
    assert list(ds.frame.columns) == [f["name"] for f in schema_dict["fields"]]
    assert ds.frame["amount"].dtype == np.float64
    assert str(ds.frame["count"].dtype) == "Int64" and ds.frame["count"].isna().sum() == 1
    assert ds.frame["active"].tolist() == [True, False, True, False]
    assert ds.frame["y"].dtype == np.int64
    assert ds.frame["opened"].iloc[0] == pd.Timestamp("2020-01-02")
    assert ds.frame["phone"].iloc[0] == "13800000001"  # text stays text, leading digits intact


def test_valid_parquet_loads_typed_columns(tmp_path, schema_dict, rows) -> None:
    # prepare: a Parquet file with native dtypes (datetime, bool, int, nullable int)
    frame = pd.DataFrame(
        {
            "uscc": [r[0] for r in rows],
            "amount": [1.5, 2.0, 3.0, 4.0],
            "count": pd.array([1, None, 3, 4], dtype="Int64"),
            "opened": pd.to_datetime(["2020-01-01"] * 4),
            "active": [True, False, True, True],
            "phone": ["13800000001"] * 4,
            "y": [0, 1, 0, 0],
        }
    )
    path = tmp_path / "loans.parquet"
    frame.to_parquet(path)

    # execute
    ds = load_dataset(path, schema_dict)

    # assert
    assert ds.frame["amount"].tolist() == [1.5, 2.0, 3.0, 4.0]
    assert ds.frame["y"].tolist() == [0, 1, 0, 0]
    assert ds.frame["active"].dtype == bool


def test_missing_file(tmp_path, schema_dict) -> None:
    err = _refused(tmp_path / "absent.csv", schema_dict, UnreadableFileError)
    assert "does not exist" in str(err) and "absent.csv" in str(err)


def test_unsupported_suffix(tmp_path, schema_dict) -> None:
    path = tmp_path / "data.xlsx"
    path.write_bytes(b"PK")
    err = _refused(path, schema_dict, UnreadableFileError)
    assert "'.xlsx'" in str(err) and "Fix:" in str(err)


def test_empty_file(tmp_path, schema_dict) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    err = _refused(path, schema_dict, UnreadableFileError)
    assert "empty" in str(err)


def test_header_without_rows(csv_file, schema_dict) -> None:
    err = _refused(csv_file([]), schema_dict, UnreadableFileError)
    assert "no data rows" in str(err)


def test_record_with_too_many_fields_names_its_line(csv_file, schema_dict, rows) -> None:
    # prepare: pandas would silently turn the first column into an index for this file
    rows[0].append("extra")
    # execute
    err = _refused(csv_file(), schema_dict, UnreadableFileError)
    # assert
    assert (err.row, err.line) == (1, 2)
    assert "8 fields but the header has 7" in str(err)


def test_record_with_too_few_fields_names_its_line(csv_file, schema_dict, rows) -> None:
    rows[2] = rows[2][:-1]
    err = _refused(csv_file(), schema_dict, UnreadableFileError)
    assert (err.row, err.line) == (3, 4)


def test_unclosed_quote_is_malformed(csv_file, schema_dict, rows) -> None:
    rows[1][1] = '"20'
    err = _refused(csv_file(), schema_dict, UnreadableFileError)
    assert err.row == 2


def test_duplicate_header_name(csv_file, schema_dict) -> None:
    err = _refused(
        csv_file(header="uscc,amount,amount,opened,active,phone,y"),
        schema_dict,
        UnreadableFileError,
    )
    assert err.column == "amount" and "twice" in str(err)


def test_not_utf8(tmp_path, schema_dict) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("uscc,amount\nabc,\xe9\n".encode("latin-1"))
    err = _refused(path, schema_dict, UnreadableFileError)
    assert "UTF-8" in str(err)


def test_corrupt_parquet(tmp_path, schema_dict) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    err = _refused(path, schema_dict, UnreadableFileError)
    assert "Parquet" in str(err)


def test_missing_id_column(csv_file, schema_dict, rows) -> None:
    err = _refused(
        csv_file(header="id,amount,count,opened,active,phone,y"), schema_dict, MissingColumnError
    )
    assert err.column == "uscc" and "id column" in str(err)


def test_missing_declared_column(csv_file, schema_dict, rows) -> None:
    trimmed = [r[:-1] for r in rows]
    err = _refused(
        csv_file(trimmed, header="uscc,amount,count,opened,active,phone"),
        schema_dict,
        MissingColumnError,
    )
    assert err.column == "y"


def test_undeclared_column_is_refused_by_default(csv_file, schema_dict, rows) -> None:
    wide = [[*r, "secret"] for r in rows]
    err = _refused(
        csv_file(wide, header="uscc,amount,count,opened,active,phone,y,notes"),
        schema_dict,
        UnexpectedColumnError,
    )
    assert err.column == "notes"


def test_undeclared_column_is_left_unread_when_ignored(csv_file, schema_dict, rows) -> None:
    # prepare
    schema_dict["extra_columns"] = "ignore"
    wide = [[*r, "secret"] for r in rows]
    # execute
    ds = load_dataset(
        csv_file(wide, header="uscc,amount,count,opened,active,phone,y,notes"), schema_dict
    )
    # assert
    assert "notes" not in ds.frame.columns


def test_empty_id(csv_file, schema_dict, rows) -> None:
    rows[2][0] = "  "
    err = _refused(csv_file(), schema_dict, EmptyIdError)
    assert (err.column, err.row, err.line) == ("uscc", 3, 4)


def test_duplicate_ids_after_normalisation(csv_file, schema_dict, rows) -> None:
    # prepare: the same code, once in lower case
    rows[3][0] = rows[1][0].lower()
    # execute
    err = _refused(csv_file(), schema_dict, DuplicateIdError)
    # assert: both records named, the code itself never
    assert err.rows == (2, 4) and err.count == 2
    assert rows[1][0] not in _said(err) and rows[1][0].lower() not in _said(err)


def test_panel_key_allows_repeated_ids_but_not_repeated_keys(csv_file, schema_dict, rows) -> None:
    # prepare: a panel keyed by (uscc, opened); the same firm in two different months
    schema_dict["key_columns"] = ["opened"]
    rows[1][0] = rows[0][0]
    ok = csv_file()
    rows[1][3] = rows[0][3]  # now the same firm twice in the same month
    dup = csv_file(name="dup.csv")

    # execute
    ds = load_dataset(ok, schema_dict)
    err = _refused(dup, schema_dict, DuplicateIdError)

    # assert
    assert ds.ids[0] == ds.ids[1]
    assert err.rows == (1, 2) and "id and opened" in str(err)


def test_invalid_uscc_check_character(csv_file, schema_dict, rows) -> None:
    # prepare: change the check character only
    good = rows[2][0]
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    rows[2][0] = bad
    # execute
    err = _refused(csv_file(), schema_dict, InvalidIdError)
    # assert
    assert (err.row, err.line) == (3, 4)
    assert bad not in _said(err) and good[:17] not in _said(err)


def test_non_uscc_ids_accepted_when_schema_says_so(csv_file, schema_dict, rows) -> None:
    schema_dict["id_is_uscc"] = False
    for i, r in enumerate(rows):
        r[0] = f"client-{i}"
    ds = load_dataset(csv_file(), schema_dict)
    assert ds.ids == ["client-0", "client-1", "client-2", "client-3"]


@pytest.mark.parametrize(
    ("column", "cell", "value"),
    [
        ("amount", 1, '"12,5"'),  # decimal comma, quoted
        ("amount", 1, "abc"),
        ("count", 2, "3.5"),
        ("opened", 3, "2021-02-30"),
        ("opened", 3, "04/03/2021"),
        ("active", 4, "maybe"),
    ],
)
def test_wrong_type(csv_file, schema_dict, rows, column, cell, value) -> None:
    # prepare
    rows[1][cell] = value
    # execute
    err = _refused(csv_file(), schema_dict, WrongTypeError)
    # assert
    assert (err.column, err.row, err.line) == (column, 2, 3)
    assert value.strip('"') not in _said(err)


def test_label_not_binary(csv_file, schema_dict, rows) -> None:
    rows[0][6] = "2"
    err = _refused(csv_file(), schema_dict, WrongTypeError)
    assert err.column == "y" and "0 or 1" in str(err)


@pytest.mark.parametrize("value", ["", "NaN", "nan", "NULL"])
def test_missing_value_in_required_field(csv_file, schema_dict, rows, value) -> None:
    rows[3][1] = value
    err = _refused(csv_file(), schema_dict, MissingValueError)
    assert isinstance(err, MissingValueError)
    assert (err.kind, err.column, err.row, err.line) == ("missing", "amount", 4, 5)


def test_missing_value_allowed_in_optional_field(csv_file, schema_dict, rows) -> None:
    rows[0][2] = "NaN"
    ds = load_dataset(csv_file(), schema_dict)
    assert ds.frame["count"].isna().sum() == 2


@pytest.mark.parametrize("value", ["inf", "-Infinity"])
def test_infinite_value(csv_file, schema_dict, rows, value) -> None:
    rows[2][1] = value
    err = _refused(csv_file(), schema_dict, MissingValueError)
    assert isinstance(err, MissingValueError)
    assert (err.kind, err.column, err.row) == ("infinite", "amount", 3)


def test_infinite_value_in_parquet(tmp_path, schema_dict, rows) -> None:
    # prepare: Parquet stores a real float inf, no text involved
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["amount"] = [1.0, np.inf, 2.0, 3.0]
    path = tmp_path / "inf.parquet"
    frame.to_parquet(path)
    # execute
    err = _refused(path, schema_dict, MissingValueError)
    # assert: Parquet has no lines, only data rows
    assert (err.row, err.line) == (2, None)


def test_many_bad_rows_are_counted(csv_file, schema_dict, rows) -> None:
    # prepare: 12 copies of record 1 (distinct ids) with an empty required amount
    rng = random.Random(3)
    many = []
    for _ in range(12):
        r = list(rows[0])
        r[0], r[1] = uscc.generate(rng), ""
        many.append(r)
    # execute
    err = _refused(csv_file(many), schema_dict, MissingValueError)
    # assert: the first five are named, all twelve counted
    assert err.rows == (1, 2, 3, 4, 5) and err.count == 12
    assert "and 7 more" in str(err)


def test_line_numbers_skip_blank_lines_and_multiline_fields(tmp_path, schema_dict, rows) -> None:
    # prepare: a blank line after record 1 and a quoted phone spanning two lines in record 2
    text = "uscc,amount,count,opened,active,phone,y\n"
    text += ",".join(rows[0]) + "\n\n"
    r = list(rows[1])
    r[5] = '"138\n0000"'
    text += ",".join(r) + "\n"
    r = list(rows[2])
    r[1] = "oops"
    text += ",".join(r) + "\n"
    path = tmp_path / "gaps.csv"
    path.write_text(text, encoding="utf-8")
    # execute
    err = _refused(path, schema_dict, WrongTypeError)
    # assert: data row 3 starts on file line 6 (header, row 1, blank, row 2 on lines 4-5)
    assert (err.row, err.line) == (3, 6)


def test_schema_error_surfaces_from_loader(csv_file, schema_dict) -> None:
    schema_dict["fields"][1]["type"] = "decimal"
    _refused(csv_file(), schema_dict, SchemaError)


def test_no_value_reaches_logs_or_messages(csv_file, schema_dict, rows, caplog) -> None:
    # prepare: one good load and one refused load, logging captured at DEBUG
    caplog.set_level(logging.DEBUG, logger="fedcredit")
    ds = load_dataset(csv_file(), schema_dict)
    rows[1][5] = "not-a-phone"
    rows[1][1] = "secret-amount"
    with pytest.raises(WrongTypeError) as info:
        load_dataset(csv_file(name="bad.csv"), schema_dict)

    # execute: everything a user or operator would see
    seen = caplog.text + _said(info.value) + repr(info.value.__dict__)

    # assert: no id, C2 value or label leaked
    for value in [*ds.ids, "secret-amount", "13800000001", "1500.5"]:
        assert value not in seen
    assert "loaded dataset loans: 4 rows" in caplog.text


def test_csv_saved_with_a_byte_order_mark_loads(tmp_path, schema_dict, rows) -> None:
    # prepare: spreadsheet programs often write UTF-8 with a BOM before the header
    path = tmp_path / "bom.csv"
    body = ",".join(COLUMNS) + "\n" + "".join(",".join(r) + "\n" for r in rows)
    path.write_bytes(b"\xef\xbb\xbf" + body.encode("utf-8"))
    # execute
    ds = load_dataset(path, schema_dict)
    # assert: the first header name is 'uscc', not '\ufeffuscc'
    assert ds.ids[0] == rows[0][0]
