"""Reading a leaked table whatever its format, and refusing what is not a table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from node.governance.tabular import FORMATS, UnreadableTable, read_table, write_table


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "token": ["tk_a", "tk_b", "tk_c"],
            "growth": [0.0625, -0.3735, 0.005],
            "kwh": [48500.0, 16900.0, np.nan],
            "name": ["上海**有限公司", "西安**公司", "北京**"],
        }
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_written_format_reads_back_with_its_numbers(tmp_path: Path, fmt: str) -> None:
    # prepare: a misleading name, so the format is recognised by content
    path = tmp_path / "leak.dat"
    write_table(_frame(), path, fmt)
    # execute
    back = read_table(path)
    # assert
    assert list(back.columns) == list(_frame().columns)
    np.testing.assert_allclose(back["growth"].to_numpy(dtype=float), _frame()["growth"])
    assert list(back["name"]) == list(_frame()["name"])


@pytest.mark.parametrize(
    "text",
    [
        "token;growth\ntk_a;0.0625\ntk_b;0.5\n",
        "token\tgrowth\ntk_a\t0.0625\ntk_b\t0.5\n",
        json.dumps({"token": {"0": "tk_a", "1": "tk_b"}, "growth": {"0": 0.0625, "1": 0.5}}),
        json.dumps({"columns": ["token", "growth"], "data": [["tk_a", 0.0625], ["tk_b", 0.5]]}),
        '{"token": "tk_a", "growth": 0.0625}\n{"token": "tk_b", "growth": 0.5}\n',
    ],
    ids=["semicolon", "tab", "json-columns", "json-split", "json-lines"],
)
def test_other_common_shapes_are_read(tmp_path: Path, text: str) -> None:
    path = tmp_path / "leak.txt"
    path.write_text(text, encoding="utf-8")
    back = read_table(path)
    assert list(back["growth"].astype(float)) == [0.0625, 0.5]


def test_every_sheet_of_a_workbook_is_read(tmp_path: Path) -> None:
    path = tmp_path / "leak.xlsx"
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        _frame().iloc[:2].to_excel(writer, sheet_name="a", index=False)
        _frame().iloc[2:].to_excel(writer, sheet_name="b", index=False)
    assert len(read_table(path)) == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"\xff\xfe\x00\x81garbage\x00", "neither Parquet"),
        (b"PAR1broken", "could not"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "leak.bin"
    path.write_bytes(content)
    with pytest.raises(UnreadableTable, match=message):
        read_table(path)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnreadableTable, match="cannot read"):
        read_table(tmp_path / "nope.csv")


def test_an_unknown_output_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="format must be one of"):
        write_table(_frame(), tmp_path / "x", "ods")
