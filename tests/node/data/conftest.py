"""Fixtures for dataset tests: a small valid dataset and its schema, written as real files."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from node.data import uscc

HEADER = "uscc,amount,count,opened,active,phone,y"


def valid_ids(n: int, seed: int = 11) -> list[str]:
    """``n`` distinct valid unified social credit codes."""
    rng = random.Random(seed)
    out: dict[str, None] = {}
    while len(out) < n:
        out[uscc.generate(rng)] = None
    return list(out)


@pytest.fixture
def schema_dict() -> dict[str, Any]:
    """A schema covering every type, an optional field and a label."""
    return {
        "version": 1,
        "name": "loans",
        "id_column": "uscc",
        "id_is_uscc": True,
        "label_column": "y",
        "fields": [
            {"name": "uscc", "type": "str", "class": "C2"},
            {"name": "amount", "type": "float", "class": "C2"},
            {"name": "count", "type": "int", "class": "C2", "required": False},
            {"name": "opened", "type": "date", "class": "C1"},
            {"name": "active", "type": "bool", "class": "public"},
            {"name": "phone", "type": "str", "class": "C2"},
            {"name": "y", "type": "int", "class": "C2"},
        ],
    }


@pytest.fixture
def rows() -> list[list[str]]:
    """Four valid records, as text cells in ``HEADER`` order."""
    ids = valid_ids(4)
    return [
        [ids[0], "1500.5", "3", "2020-01-02", "true", "13800000001", "0"],
        [ids[1], "20", "", "2021-03-04", "0", "13800000002", "1"],
        [ids[2], "7.25", "12", "2019-11-30", "yes", "13800000003", "0"],
        [ids[3], "0", "0", "2022-06-15", "false", "13800000004", "0"],
    ]


def write_csv(path: Path, rows: list[list[str]], header: str = HEADER) -> Path:
    """Write ``rows`` under ``header`` as a CSV file and return its path."""
    path.write_text(header + "\n" + "".join(",".join(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def csv_file(tmp_path: Path, rows: list[list[str]]):
    """Write a CSV under ``tmp_path``: ``csv_file(rows=None, header=HEADER, name="d.csv")``."""

    def make(
        new_rows: list[list[str]] | None = None, header: str = HEADER, name: str = "data.csv"
    ) -> Path:
        return write_csv(tmp_path / name, rows if new_rows is None else new_rows, header)

    return make
