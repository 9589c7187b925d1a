"""Dataset schemas: which column is the id, which is the label, each field's type and class.

A node never serves a column it cannot describe: the schema says what every column is (its
type, so the loader can refuse malformed values, and its sensitivity class, so the policy engine
can decide what may leave the node). Schemas live in YAML files next to the data; see
``docs/datasets.md`` for the file reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

import yaml

from node.data.exceptions import SchemaError

SCHEMA_VERSION: Final = 1


class FieldType(StrEnum):
    """The value type of a column, as written in the schema file."""

    INT = "int"
    FLOAT = "float"
    STR = "str"
    DATE = "date"
    BOOL = "bool"


class Sensitivity(StrEnum):
    """Sensitivity class in the spirit of JR/T 0171-2020 (C3 most sensitive, then C2, C1).

    ``public`` marks data anyone may see (an industry code, a published rating). The class
    decides the default masking rule; a class is required for every field so that nothing is
    served unclassified.
    """

    C3 = "C3"
    C2 = "C2"
    C1 = "C1"
    PUBLIC = "public"


class ExtraColumns(StrEnum):
    """What to do with a file column the schema does not declare."""

    REFUSE = "refuse"
    IGNORE = "ignore"


@dataclass(frozen=True)
class FieldSpec:
    """One column of a dataset.

    Attributes
    ----------
    name
        Column name as in the file header.
    dtype
        Value type; the loader refuses values that do not parse as it.
    sensitivity
        Sensitivity class, read by the policy engine.
    required
        Whether empty, NaN and infinite values are refused. Defaults to ``True`` so that a
        forgotten setting fails loudly instead of feeding NaN into a federated model.
    description
        Free text for operators and auditors.
    """

    name: str
    dtype: FieldType
    sensitivity: Sensitivity
    required: bool = True
    description: str = ""


@dataclass(frozen=True)
class DatasetSchema:
    """The schema of one dataset file.

    Preconditions (checked by ``__post_init__``): field names are unique, the id column and the
    label column (if any) are declared fields, the id column is ``str`` and the label ``int`` or
    ``bool``. The id and the label are always required.

    ``key_columns`` are further columns that, with the id, identify a record: empty for a
    snapshot (one record per enterprise), ``("month",)`` for a monthly panel. They must be
    declared, required fields.
    """

    name: str
    id_column: str
    fields: tuple[FieldSpec, ...]
    id_is_uscc: bool = True
    label_column: str | None = None
    key_columns: tuple[str, ...] = ()
    extra_columns: ExtraColumns = ExtraColumns.REFUSE
    source: Path | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        where = self.source or Path(f"<schema {self.name}>")
        names = [f.name for f in self.fields]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise SchemaError(
                where, f"field names {dupes} are declared more than once", "declare each once"
            )
        by_name = {f.name: f for f in self.fields}
        idf = by_name.get(self.id_column)
        if idf is None:
            raise SchemaError(
                where,
                f"id column {self.id_column!r} is not among the declared fields",
                "add it under 'fields' with type str and its sensitivity class",
            )
        if idf.dtype is not FieldType.STR or not idf.required:
            raise SchemaError(
                where,
                f"id column {self.id_column!r} must be a required str field",
                "set 'type: str' and 'required: true' on it",
            )
        if self.label_column is not None:
            lab = by_name.get(self.label_column)
            if lab is None:
                raise SchemaError(
                    where,
                    f"label column {self.label_column!r} is not among the declared fields",
                    "add it under 'fields' (type int or bool) or remove 'label_column'",
                )
            if lab.dtype not in (FieldType.INT, FieldType.BOOL) or not lab.required:
                raise SchemaError(
                    where,
                    f"label column {self.label_column!r} must be a required int or bool field",
                    "set 'type: int' (values 0/1) and 'required: true' on it",
                )

        for key in self.key_columns:
            spec = by_name.get(key)
            if spec is None or not spec.required or key == self.id_column:
                raise SchemaError(
                    where,
                    f"key column {key!r} is not a declared required field other than the id",
                    "declare it under 'fields' with 'required: true', or remove it from "
                    "'key_columns'",
                )

    @property
    def unique_key(self) -> tuple[str, ...]:
        """The columns whose values identify one record: the id plus ``key_columns``."""
        return (self.id_column, *self.key_columns)

    @property
    def columns(self) -> tuple[str, ...]:
        """All declared column names, in declaration order."""
        return tuple(f.name for f in self.fields)

    @property
    def feature_columns(self) -> tuple[str, ...]:
        """Numeric and boolean columns other than the id and the label (model inputs)."""
        numeric = (FieldType.INT, FieldType.FLOAT, FieldType.BOOL)
        skip = {self.id_column, self.label_column, *self.key_columns}
        return tuple(f.name for f in self.fields if f.dtype in numeric and f.name not in skip)

    def spec(self, name: str) -> FieldSpec:
        """Return the spec of column ``name``.

        Raises
        ------
        KeyError
            ``name`` is not declared.
        """
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"column {name!r} is not declared in schema {self.name!r}")


def _enum(where: Path, kind: type[StrEnum], raw: object, what: str) -> Any:
    try:
        return kind(str(raw))
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise SchemaError(where, f"{what} is {raw!r}", f"use one of: {allowed}") from None


def schema_from_dict(data: Mapping[str, Any], source: Path | None = None) -> DatasetSchema:
    """Build a schema from the mapping form (the parsed YAML file).

    Raises
    ------
    SchemaError
        A key is missing or has a wrong value; the message names the key and the fix.
    """
    where = source or Path("<schema>")
    if not isinstance(data, Mapping):
        raise SchemaError(where, "the schema is not a mapping", "write 'key: value' pairs")
    version = data.get("version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise SchemaError(
            where, f"schema version {version!r} is not supported", f"use version {SCHEMA_VERSION}"
        )
    for key in ("name", "id_column", "fields"):
        if key not in data:
            raise SchemaError(where, f"required key {key!r} is missing", f"add '{key}:'")
    raw_fields = data["fields"]
    if not isinstance(raw_fields, list) or not raw_fields:
        raise SchemaError(
            where, "'fields' is not a non-empty list", "list each column as '- name: ...'"
        )
    specs = []
    for i, raw in enumerate(raw_fields, start=1):
        if not isinstance(raw, Mapping) or "name" not in raw:
            raise SchemaError(where, f"field #{i} has no 'name'", "give every field a name")
        name = str(raw["name"])
        for key in ("type", "class"):
            if key not in raw:
                raise SchemaError(
                    where, f"field {name!r} has no {key!r}", f"add '{key}:' to field {name!r}"
                )
        required = raw.get("required", True)
        if not isinstance(required, bool):
            raise SchemaError(
                where, f"field {name!r}: 'required' is not true/false", "write true or false"
            )
        specs.append(
            FieldSpec(
                name=name,
                dtype=_enum(where, FieldType, raw["type"], f"field {name!r} type"),
                sensitivity=_enum(where, Sensitivity, raw["class"], f"field {name!r} class"),
                required=required,
                description=str(raw.get("description", "")),
            )
        )
    id_is_uscc = data.get("id_is_uscc", True)
    if not isinstance(id_is_uscc, bool):
        raise SchemaError(where, "'id_is_uscc' is not true/false", "write true or false")
    label = data.get("label_column")
    keys = data.get("key_columns", [])
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise SchemaError(
            where, "'key_columns' is not a list of column names", "write e.g. [month]"
        )
    return DatasetSchema(
        name=str(data["name"]),
        id_column=str(data["id_column"]),
        fields=tuple(specs),
        id_is_uscc=id_is_uscc,
        label_column=None if label is None else str(label),
        key_columns=tuple(keys),
        extra_columns=_enum(
            where, ExtraColumns, data.get("extra_columns", "refuse"), "'extra_columns'"
        ),
        source=source,
    )


def schema_to_dict(schema: DatasetSchema) -> dict[str, Any]:
    """The mapping form of ``schema``; ``schema_from_dict`` reads it back unchanged."""
    fields = []
    for f in schema.fields:
        entry: dict[str, Any] = {
            "name": f.name,
            "type": f.dtype.value,
            "class": f.sensitivity.value,
            "required": f.required,
        }
        if f.description:
            entry["description"] = f.description
        fields.append(entry)
    return {
        "version": SCHEMA_VERSION,
        "name": schema.name,
        "id_column": schema.id_column,
        "id_is_uscc": schema.id_is_uscc,
        "label_column": schema.label_column,
        "key_columns": list(schema.key_columns),
        "extra_columns": schema.extra_columns.value,
        "fields": fields,
    }


def load_schema(path: Path | str) -> DatasetSchema:
    """Read a schema YAML file.

    Raises
    ------
    SchemaError
        The file cannot be read, is not valid YAML, or describes an invalid schema.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SchemaError(
            path, f"cannot read the schema file ({type(exc).__name__})", "check the path"
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise SchemaError(path, f"the file is not valid YAML{at}", "fix the YAML syntax") from None
    return schema_from_dict(data, source=path)


def dump_schema(schema: DatasetSchema, path: Path | str) -> Path:
    """Write ``schema`` as YAML to ``path`` and return the path."""
    path = Path(path)
    header = "# fedcredit dataset schema; reference: docs/datasets.md\n"
    body = yaml.safe_dump(schema_to_dict(schema), sort_keys=False, allow_unicode=True)
    path.write_text(header + body, encoding="utf-8")
    return path
