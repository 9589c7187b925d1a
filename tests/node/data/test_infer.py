"""Schema inference: types, the id column, USCC detection, identifiers held back, the label."""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd
import pytest

from node.data.exceptions import SchemaError
from node.data.infer import infer_schema
from node.data.loader import load_dataset
from node.data.uscc import generate


def _table(tmp_path: Path, frame: pd.DataFrame, name: str = "t.csv") -> Path:
    path = tmp_path / name
    if path.suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False)
    return path


def _firms(n: int = 200) -> pd.DataFrame:
    rng = random.Random(5)
    return pd.DataFrame(
        {
            "region": [rng.choice(["east", "west", "north"]) for _ in range(n)],
            "firm_uscc": [generate(rng) for _ in range(n)],
            "owner_phone": [13_800_000_000 + i for i in range(n)],
            "zip_code": [f"0{rng.randint(10000, 99999)}" for _ in range(n)],
            "founded": [
                f"20{rng.randint(10, 23)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"
                for _ in range(n)
            ],
            "revenue": [round(rng.uniform(1, 1e6), 2) for _ in range(n)],
            "staff": [rng.randint(1, 300) for _ in range(n)],
            "rating": [rng.choice(["1.5", "2.0", ""]) for _ in range(n)],
            "defaulted": [rng.choice([0, 1]) for _ in range(n)],
        }
    )


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_types_id_identifiers_and_label_are_inferred(tmp_path: Path, suffix: str) -> None:
    path = _table(tmp_path, _firms(), f"firms{suffix}")
    inferred = infer_schema(path, "firms", label="defaulted")
    schema = inferred.schema
    types = {f.name: f.dtype.value for f in schema.fields}
    classes = {f.name: f.sensitivity.value for f in schema.fields}
    # the USCC column is found and is the id, though it is neither first nor named "id"
    assert schema.id_column == "firm_uscc" and schema.id_is_uscc
    assert types["revenue"] == "float" and types["staff"] == "int"
    assert types["zip_code"] == "str"  # a leading zero makes it a code
    assert types["defaulted"] == "int" and schema.label_column == "defaulted"
    # identifiers are C3 and never proposed for training; the label is not a feature
    assert set(inferred.identifiers) == {"firm_uscc", "owner_phone", "zip_code"}
    assert classes["owner_phone"] == "C3" and classes["revenue"] == "C2"
    assert "owner_phone" not in inferred.features and "defaulted" not in inferred.features
    assert set(inferred.features) == {"revenue", "staff", "rating"}
    assert not schema.spec("rating").required  # it has gaps
    if suffix == ".csv":
        assert types["founded"] == "date"
    # what was inferred is what the node's loader accepts
    assert len(load_dataset(path, schema).frame) == 200


def test_integer_ids_named_id_are_the_id(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": [0.5, 1.5, 2.5], "id": [1, 2, 3], "y": [0, 1, 0]})
    schema = infer_schema(_table(tmp_path, frame), "t", label="y").schema
    assert schema.id_column == "id" and not schema.id_is_uscc
    assert schema.spec("id").dtype.value == "str"


def test_named_label_that_is_not_binary_is_refused(tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": ["a", "b", "c"], "score": [0.1, 0.7, 2.0]})
    with pytest.raises(SchemaError, match="the label 'score' is not a 0/1 column"):
        infer_schema(_table(tmp_path, frame), "t", label="score")


def test_named_column_that_is_absent_is_refused_with_the_columns(tmp_path: Path) -> None:
    frame = pd.DataFrame({"id": ["a", "b"], "x": [1.0, 2.0]})
    with pytest.raises(SchemaError, match="the id column 'firm' is not a column"):
        infer_schema(_table(tmp_path, frame), "t", id_column="firm")


def test_no_possible_id_is_refused_with_the_fix(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": [1.0, 1.0, 2.0], "y": [0, 1, 0]})
    with pytest.raises(SchemaError, match="name it with id_column in the project file"):
        infer_schema(_table(tmp_path, frame), "t")
