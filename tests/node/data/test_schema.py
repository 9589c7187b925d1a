"""Dataset schemas: YAML and mapping forms, round trips, and every refusal."""

from __future__ import annotations

from typing import Any

import pytest

from node.data.exceptions import SchemaError
from node.data.schema import (
    DatasetSchema,
    ExtraColumns,
    FieldSpec,
    FieldType,
    Sensitivity,
    dump_schema,
    load_schema,
    schema_from_dict,
    schema_to_dict,
)


def test_mapping_builds_frozen_schema(schema_dict) -> None:
    # execute
    schema = schema_from_dict(schema_dict)

    # assert
    assert schema.name == "loans" and schema.id_column == "uscc" and schema.label_column == "y"
    assert schema.id_is_uscc and schema.extra_columns is ExtraColumns.REFUSE
    assert schema.spec("count") == FieldSpec("count", FieldType.INT, Sensitivity.C2, False)
    assert schema.spec("active").sensitivity is Sensitivity.PUBLIC
    assert schema.feature_columns == ("amount", "count", "active")
    with pytest.raises(AttributeError):
        schema.name = "other"  # type: ignore[misc]


def test_yaml_round_trip(schema_dict, tmp_path) -> None:
    # prepare
    schema = schema_from_dict(schema_dict)

    # execute
    path = dump_schema(schema, tmp_path / "loans.schema.yaml")
    again = load_schema(path)

    # assert: equal content, and the source recorded for error messages
    assert again == schema
    assert again.source == path
    assert schema_from_dict(schema_to_dict(schema)) == schema


def test_key_columns_extend_the_unique_key(schema_dict) -> None:
    # prepare
    schema_dict["key_columns"] = ["opened"]
    # execute
    schema = schema_from_dict(schema_dict)
    # assert: the key column is part of the key, not a model feature
    assert schema.unique_key == ("uscc", "opened")
    assert "opened" not in schema.feature_columns
    assert schema_from_dict(schema_to_dict(schema)) == schema


def test_defaults_are_the_safe_ones() -> None:
    # execute: the smallest schema a user can write
    schema = schema_from_dict(
        {"name": "x", "id_column": "id", "fields": [{"name": "id", "type": "str", "class": "C2"}]}
    )
    # assert: ids checked as USCC, fields required, undeclared columns refused, no label
    assert schema.id_is_uscc and schema.spec("id").required
    assert schema.extra_columns is ExtraColumns.REFUSE and schema.label_column is None


def test_unknown_column_lookup() -> None:
    schema = DatasetSchema("x", "id", (FieldSpec("id", FieldType.STR, Sensitivity.C2),))
    with pytest.raises(KeyError):
        schema.spec("nope")


def _broken(schema_dict: dict[str, Any], case: str) -> dict[str, Any]:
    fields = schema_dict["fields"]
    if case == "unknown type":
        fields[1]["type"] = "decimal"
    elif case == "unknown class":
        fields[1]["class"] = "secret"
    elif case == "no type":
        del fields[1]["type"]
    elif case == "no class":
        del fields[1]["class"]
    elif case == "no name":
        del fields[1]["name"]
    elif case == "required not bool":
        fields[1]["required"] = "yes"
    elif case == "duplicate field":
        fields.append(dict(fields[1]))
    elif case == "id not declared":
        schema_dict["id_column"] = "code"
    elif case == "id not str":
        fields[0]["type"] = "int"
    elif case == "id optional":
        fields[0]["required"] = False
    elif case == "label not declared":
        schema_dict["label_column"] = "target"
    elif case == "label float":
        fields[6]["type"] = "float"
    elif case == "missing key":
        del schema_dict["id_column"]
    elif case == "fields empty":
        schema_dict["fields"] = []
    elif case == "bad version":
        schema_dict["version"] = 2
    elif case == "id_is_uscc not bool":
        schema_dict["id_is_uscc"] = "yes"
    elif case == "bad extra_columns":
        schema_dict["extra_columns"] = "keep"
    elif case == "key not declared":
        schema_dict["key_columns"] = ["month"]
    elif case == "key optional":
        schema_dict["key_columns"] = ["count"]
    elif case == "key is the id":
        schema_dict["key_columns"] = ["uscc"]
    elif case == "key_columns not a list":
        schema_dict["key_columns"] = "opened"
    return schema_dict


@pytest.mark.parametrize(
    "case",
    [
        "unknown type",
        "unknown class",
        "no type",
        "no class",
        "no name",
        "required not bool",
        "duplicate field",
        "id not declared",
        "id not str",
        "id optional",
        "label not declared",
        "label float",
        "missing key",
        "fields empty",
        "bad version",
        "id_is_uscc not bool",
        "bad extra_columns",
        "key not declared",
        "key optional",
        "key is the id",
        "key_columns not a list",
    ],
)
def test_invalid_schema_is_refused_with_a_fix(schema_dict, case) -> None:
    # execute
    with pytest.raises(SchemaError) as info:
        schema_from_dict(_broken(schema_dict, case))
    # assert
    assert "Fix:" in str(info.value) and info.value.fix


def test_not_a_mapping() -> None:
    with pytest.raises(SchemaError):
        schema_from_dict(["name", "x"])  # type: ignore[arg-type]


def test_unreadable_schema_file(tmp_path) -> None:
    with pytest.raises(SchemaError) as info:
        load_schema(tmp_path / "absent.yaml")
    assert "absent.yaml" in str(info.value)


def test_invalid_yaml_names_the_line(tmp_path) -> None:
    # prepare: an unclosed flow mapping on line 3
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nid_column: id\nfields: [{name: id\n", encoding="utf-8")
    # execute
    with pytest.raises(SchemaError) as info:
        load_schema(path)
    # assert
    assert "not valid YAML at line" in str(info.value)
