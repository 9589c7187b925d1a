"""Propose a dataset schema from a CSV or Parquet file: types, id column, identifiers, label.

A schema is a statement about data that a person signs off, so this only proposes one, and
leans to caution: a column that identifies someone (an enterprise's credit code, an account or
phone number, a name) is classed C3 and marked an identifier, which keeps it out of every
proposed training rule; everything else is C2. ``fedcredit init`` writes the proposal beside a
policy proposal for review. Reading uses the loader's own reader, so what is inferred here is
what the node will later check.

Rules, per column (missing values are the loader's tokens: empty, NA, NaN, null, None):

* ``int`` when every value is an integer without a leading zero (``007`` is a code, so text);
  ``float`` when every value is a number; ``date`` when every value is ``YYYY-MM-DD``; else
  ``str``. ``bool`` only for true/false-worded columns (0/1 columns stay ``int``, as labels are).
* An identifier is a text column whose present values are mostly distinct, a text column
  of valid unified social credit codes (GB 32100-2015), or an integer column of distinct values
  with eight or more digits (account and phone numbers).
* The id column is the one named in the project, else, among columns filled and distinct in
  every row: the USCC column, an identifier named like an id (``id``, ``*_id``, ``uscc``,
  ``code``), any column named like one, the first identifier.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pandas as pd
import pyarrow.parquet as pq

from node.data.exceptions import SchemaError
from node.data.loader import read_table
from node.data.schema import DatasetSchema, FieldSpec, FieldType, Sensitivity
from node.data.uscc import is_valid, normalize
from node.data.validate import MISSING_TOKENS

# Share of distinct present values above which a text column counts as an identifier: names,
# id numbers and addresses repeat now and then, categories (industry, region) constantly.
DISTINCT_SHARE: Final = 0.5
# Share of present values that must be valid credit codes for a column to be a USCC column.
USCC_SHARE: Final = 0.98
# Integers this long and all distinct are numbers that name something (account, phone).
IDENTIFIER_DIGITS: Final = 8
_ID_NAME = re.compile(r"^(id|uscc|code|.*_id|id_.*|.*_code|.*_no)$", re.IGNORECASE)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INTEGER = re.compile(r"^[+-]?(0|[1-9]\d*)$")
_WORDS_BOOL: Final = frozenset({"true", "false", "yes", "no", "t", "f", "y", "n"})


@dataclass(frozen=True)
class InferredSchema:
    """A proposed schema and what the inference decided, for the review notes.

    ``identifiers`` are the columns classed C3 and kept out of training (the id among them);
    ``features`` are the numeric columns a training rule is proposed for.
    """

    schema: DatasetSchema
    identifiers: tuple[str, ...]
    features: tuple[str, ...]
    rows: int


def infer_schema(
    path: Path, name: str, id_column: str | None = None, label: str | None = None
) -> InferredSchema:
    """Propose the schema of the table at ``path``, naming the dataset ``name``.

    Raises
    ------
    DatasetError
        The file cannot be read (the loader's own error, naming file and fix).
    SchemaError
        The named id or label column is absent, the label is not 0/1, or no column can serve
        as the id; the message names the column and the fix.
    """
    frame, _ = read_table(path)
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    for role, wanted in (("id column", id_column), ("label", label)):
        if wanted is not None and wanted not in columns:
            raise SchemaError(
                path, f"the {role} {wanted!r} is not a column", f"use one of {columns}"
            )
    types = {c: _column_type(frame[c]) for c in columns}
    uscc = {c for c in columns if types[c] is FieldType.STR and _is_uscc(frame[c])}
    identifiers = {c for c in columns if _is_identifier(frame[c], types[c])} | uscc
    if label is not None:
        if not _is_binary(frame[label]):
            raise SchemaError(
                path,
                f"the label {label!r} is not a 0/1 column",
                "give the column that is 1 for a default and 0 otherwise",
            )
        types[label] = FieldType.INT
        identifiers.discard(label)
    chosen = id_column or _pick_id(columns, uscc, identifiers, frame)
    if chosen is None:
        raise SchemaError(
            path,
            "no column looks like an id (distinct text values in every row)",
            "name it with id_column in the project file",
        )
    types[chosen] = FieldType.STR
    identifiers.add(chosen)
    fields = tuple(
        FieldSpec(
            name=c,
            dtype=types[c],
            sensitivity=Sensitivity.C3 if c in identifiers else Sensitivity.C2,
            required=c in (chosen, label) or not _missing(frame[c]).any(),
            description=_describe(c, chosen, label, c in uscc, c in identifiers),
        )
        for c in columns
    )
    schema = DatasetSchema(
        name=name,
        id_column=chosen,
        fields=fields,
        id_is_uscc=chosen in uscc,
        label_column=label,
        source=path,
    )
    numeric = (FieldType.INT, FieldType.FLOAT, FieldType.BOOL)
    features = tuple(
        c for c in columns if types[c] in numeric and c not in identifiers and c != label
    )
    return InferredSchema(
        schema, tuple(c for c in columns if c in identifiers), features, len(frame)
    )


def table_columns(path: Path) -> list[str]:
    """The column names of a CSV or Parquet file, read from its header only."""
    if path.suffix.lower() in (".parquet", ".pq"):
        return [str(c) for c in pq.read_schema(path).names]
    return [str(c) for c in pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns]


def _missing(series: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series):
        return series.isna()
    text = series.astype("string").str.strip().str.lower()
    return text.isna() | text.isin(MISSING_TOKENS)


def _present(series: pd.Series) -> pd.Series:
    """The present values as stripped text."""
    return series[~_missing(series)].astype("string").str.strip()


def _column_type(series: pd.Series) -> FieldType:
    if pd.api.types.is_bool_dtype(series):
        return FieldType.BOOL
    if pd.api.types.is_integer_dtype(series):
        return FieldType.INT
    if pd.api.types.is_float_dtype(series):
        present = series.dropna()
        whole = len(present) > 0 and bool((present == present.round()).all())
        return FieldType.INT if whole and not series.isna().any() else FieldType.FLOAT
    if pd.api.types.is_datetime64_any_dtype(series):
        return FieldType.DATE
    text = _present(series)
    if text.empty:
        return FieldType.STR
    if text.str.fullmatch(_INTEGER).all():
        return FieldType.INT
    if text.str.lower().isin(_WORDS_BOOL).all() and not text.str.fullmatch(r"[01]").all():
        return FieldType.BOOL
    if text.str.fullmatch(_DATE).all() and pd.to_datetime(text, errors="coerce").notna().all():
        return FieldType.DATE
    if pd.to_numeric(text, errors="coerce").notna().all() and not text.str.match(r"^0\d").any():
        return FieldType.FLOAT
    return FieldType.STR


def _is_uscc(series: pd.Series) -> bool:
    text = _present(series)
    if text.empty:
        return False
    valid = text.map(lambda v: is_valid(normalize(v))).astype(bool)
    return float(valid.mean()) >= USCC_SHARE


def _is_identifier(series: pd.Series, dtype: FieldType) -> bool:
    text = _present(series)
    if len(text) < 2:
        return False
    distinct = text.nunique() / len(text)
    if dtype is FieldType.STR:
        return bool(distinct >= DISTINCT_SHARE)
    if dtype is FieldType.INT:
        digits = text.str.lstrip("+-").str.len()
        return distinct == 1.0 and bool((digits >= IDENTIFIER_DIGITS).all())
    return False


def _is_binary(series: pd.Series) -> bool:
    text = _present(series)
    return len(text) == len(series) and set(text.unique()) <= {"0", "1", "0.0", "1.0"}


def _pick_id(
    columns: list[str], uscc: set[str], identifiers: set[str], frame: pd.DataFrame
) -> str | None:
    unique = [c for c in columns if not _missing(frame[c]).any()]
    unique = [c for c in unique if frame[c].astype("string").str.strip().is_unique]
    for group in (
        [c for c in unique if c in uscc],
        [c for c in unique if c in identifiers and _ID_NAME.match(c)],
        [c for c in unique if _ID_NAME.match(c)],
        [c for c in unique if c in identifiers],
    ):
        if group:
            return group[0]
    return None


def _describe(column: str, id_column: str, label: str | None, uscc: bool, ident: bool) -> str:
    if column == id_column:
        return "inferred: the id column" + (" (unified social credit codes)" if uscc else "")
    if column == label:
        return "inferred: the label (1 = default)"
    if uscc:
        return "inferred: unified social credit codes; an identifier, never used for training"
    if ident:
        return "inferred: mostly distinct values, so an identifier; never trained on"
    return ""
