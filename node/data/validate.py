"""Check a freshly read table against its schema and convert each column to its declared type.

The checks run in a fixed order (columns, then ids, then each field in schema order) and stop
at the first kind of problem, reporting every row that shares it. A node refuses to start on
any of them: serving half-checked data into a federated model would spread the damage to every
party. Messages give positions only (file, column, row), never a value; see
``node.data.exceptions``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, TypedDict

import numpy as np
import pandas as pd

from node.data import uscc
from node.data.exceptions import (
    DuplicateIdError,
    EmptyIdError,
    InvalidIdError,
    MissingColumnError,
    MissingValueError,
    UnexpectedColumnError,
    WrongTypeError,
)
from node.data.schema import DatasetSchema, ExtraColumns, FieldSpec, FieldType

logger = logging.getLogger("fedcredit.node.data.validate")

#: Rows named in one message; the rest are counted, so a message stays readable.
MAX_ROWS_SHOWN: Final = 5
#: Text spellings read as a missing value (compared case-insensitively, after stripping).
MISSING_TOKENS: Final = frozenset({"", "nan", "na", "n/a", "null", "none"})
_LONGEST_TOKEN: Final = max(len(t) for t in MISSING_TOKENS)
_TRUE: Final = frozenset({"true", "t", "yes", "y", "1"})
_FALSE: Final = frozenset({"false", "f", "no", "n", "0"})
_TYPE_HINT: Final = {
    FieldType.INT: "a whole number such as 42",
    FieldType.FLOAT: "a decimal number such as 3.5",
    FieldType.STR: "text",
    FieldType.DATE: "an ISO date YYYY-MM-DD",
    FieldType.BOOL: "true/false (or 1/0, yes/no)",
}


class RowRefs(TypedDict):
    """Positions of offending rows, as keyword arguments for a ``DatasetError``."""

    rows: tuple[int, ...]
    lines: tuple[int, ...]
    count: int


@dataclass(frozen=True)
class Where:
    """Where the table came from, so errors can name file positions.

    ``line_of`` maps each 0-based data row to its 1-based file line (CSV only; it accounts for
    blank lines and quoted fields spanning lines). ``None`` for formats without lines.
    """

    path: Path
    line_of: np.ndarray | None = field(default=None, compare=False)

    def rows(self, mask: np.ndarray) -> RowRefs:
        """Keyword arguments locating the rows where ``mask`` is true, for an exception."""
        positions = np.flatnonzero(mask)[:MAX_ROWS_SHOWN]
        shown = tuple(int(p) + 1 for p in positions)
        lines: tuple[int, ...] = ()
        if self.line_of is not None:
            lines = tuple(int(self.line_of[p]) for p in positions)
        return RowRefs(rows=shown, lines=lines, count=int(np.count_nonzero(mask)))


def _text(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Values as stripped strings plus the mask of missing ones (NaN/None or a missing token)."""
    isna = series.isna().to_numpy()
    if pd.api.types.is_string_dtype(series) and series.dtype != object:
        text = series.fillna("").str.strip()  # CSV columns: already strings, stay vectorised
    else:
        text = series.astype("object").where(~isna, "").map(str).str.strip()
    short = (text.str.len() <= _LONGEST_TOKEN).to_numpy()
    missing = isna.copy()
    missing[short] |= text[short].str.lower().isin(MISSING_TOKENS).to_numpy()
    return text, missing


def _to_number(series: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Return (float values, missing mask, unparseable mask)."""
    if pd.api.types.is_bool_dtype(series):
        values = pd.Series(np.nan, index=series.index)
        return values, np.zeros(len(series), bool), np.ones(len(series), bool)
    if pd.api.types.is_numeric_dtype(series):
        values = series.astype("float64")
        missing = values.isna().to_numpy()
        return values, missing, np.zeros(len(series), bool)
    text, missing = _text(series)
    values = pd.to_numeric(text.where(~missing, None), errors="coerce").astype("float64")
    bad = values.isna().to_numpy() & ~missing
    return values, missing, bad


def _convert(series: pd.Series, spec: FieldSpec) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Convert one column to ``spec.dtype``: (values, missing mask, wrong-type mask)."""
    if spec.dtype is FieldType.INT and pd.api.types.is_integer_dtype(series):
        # already integers (Parquet): keep them exact, a float64 detour would round ids > 2**53
        return series, series.isna().to_numpy(), np.zeros(len(series), bool)
    if spec.dtype in (FieldType.INT, FieldType.FLOAT):
        values, missing, bad = _to_number(series)
        if spec.dtype is FieldType.INT:
            arr = values.to_numpy()
            finite = np.isfinite(arr)
            bad = bad | (finite & (arr != np.round(arr)))
        return values, missing, bad
    if spec.dtype is FieldType.STR:
        text, missing = _text(series)
        return text.where(~missing, None), missing, np.zeros(len(series), bool)
    if spec.dtype is FieldType.DATE:
        if pd.api.types.is_datetime64_any_dtype(series):
            values = series.dt.tz_localize(None) if series.dt.tz is not None else series
            return values, series.isna().to_numpy(), np.zeros(len(series), bool)
        text, missing = _text(series)
        values = pd.to_datetime(text.where(~missing, None), format="%Y-%m-%d", errors="coerce")
        return values, missing, values.isna().to_numpy() & ~missing
    # FieldType.BOOL
    if pd.api.types.is_bool_dtype(series):
        return series, series.isna().to_numpy(), np.zeros(len(series), bool)
    text, missing = _text(series)
    low = text.str.lower()
    is_true = low.isin(_TRUE).to_numpy()
    is_false = low.isin(_FALSE).to_numpy()
    if pd.api.types.is_numeric_dtype(series):
        num = series.astype("float64").to_numpy()
        is_true, is_false = num == 1.0, num == 0.0
    bad = ~(is_true | is_false | missing)
    values = pd.Series(pd.array(np.where(missing, None, is_true), dtype="boolean"), series.index)
    return values, missing, bad


def _finish(values: pd.Series, spec: FieldSpec, missing: np.ndarray) -> pd.Series:
    """Give a checked column its final pandas dtype."""
    if spec.dtype is FieldType.INT:
        return values.astype("Int64") if missing.any() else values.astype("int64")
    if spec.dtype is FieldType.FLOAT:
        return values.astype("float64")
    if spec.dtype is FieldType.BOOL:
        return values if missing.any() else values.astype(bool)
    if spec.dtype is FieldType.STR:
        return values.astype("str") if not missing.any() else values
    return values


def check_columns(frame: pd.DataFrame, schema: DatasetSchema, where: Where) -> pd.DataFrame:
    """Refuse a missing id or declared column and an undeclared one (unless ignored).

    Raises
    ------
    MissingColumnError
        The id column or another declared column is not in the file.
    UnexpectedColumnError
        The file has a column the schema does not declare and ``extra_columns`` is ``refuse``.
    """
    present = [str(c) for c in frame.columns]
    if schema.id_column not in present:
        raise MissingColumnError(
            where.path,
            f"the id column {schema.id_column!r} is not in the header",
            "add the column or set 'id_column' in the schema to the file's id column",
            column=schema.id_column,
        )
    missing = [c for c in schema.columns if c not in present]
    if missing:
        raise MissingColumnError(
            where.path,
            f"declared column(s) {missing} are not in the header",
            "add them to the file or remove them from the schema",
            column=missing[0],
        )
    extra = [c for c in present if c not in schema.columns]
    if extra and schema.extra_columns is ExtraColumns.REFUSE:
        raise UnexpectedColumnError(
            where.path,
            f"column(s) {extra} are not declared in the schema, so they have no class",
            "declare them under 'fields' with a type and class, remove them, "
            "or set 'extra_columns: ignore' to leave them unread",
            column=extra[0],
        )
    if extra:
        logger.info("dataset %s: ignoring %d undeclared column(s)", schema.name, len(extra))
    return frame[list(schema.columns)]


def check_ids(series: pd.Series, schema: DatasetSchema, where: Where) -> pd.Series:
    """Return the normalised ids, refusing empty, duplicate and (if required) invalid USCC ids.

    Raises
    ------
    EmptyIdError
        An id is empty.
    DuplicateIdError
        An id occurs more than once (after normalisation); checked here only when the schema
        has no ``key_columns``, otherwise on the full key after conversion.
    InvalidIdError
        ``id_is_uscc`` and an id fails the GB 32100-2015 check.
    """
    col = schema.id_column
    text, _ = _text(series)
    empty = (series.isna().to_numpy()) | (text == "").to_numpy()
    if empty.any():
        raise EmptyIdError(
            where.path,
            "the id is empty",
            "give every record its id or remove the record",
            column=col,
            **where.rows(empty),
        )
    if schema.id_is_uscc:
        # normalise each distinct code once: a monthly panel repeats every code many times
        codes, uniques = pd.factorize(text)
        normalised = np.array([uscc.normalize(u) for u in uniques], dtype=object)
        ids = pd.Series(normalised[codes], index=text.index)
    else:
        ids = text
    if not schema.key_columns:
        check_unique(pd.DataFrame({col: ids}), schema, where)
    if schema.id_is_uscc:
        # check each distinct code once: a monthly panel repeats every code dozens of times
        bad = [code for code in ids.unique() if not uscc.is_valid(code)]
        invalid = ids.isin(bad).to_numpy(dtype=bool)
        if invalid.any():
            raise InvalidIdError(
                where.path,
                "the id is not a valid unified social credit code "
                "(18 characters with a correct GB 32100-2015 check character)",
                "correct the code from the business licence, or set 'id_is_uscc: false' "
                "if this dataset is not keyed by unified social credit codes",
                column=col,
                **where.rows(invalid),
            )
    return ids.astype("str")


def check_unique(frame: pd.DataFrame, schema: DatasetSchema, where: Where) -> None:
    """Refuse two records with the same key (the id, plus ``key_columns`` for panels).

    Raises
    ------
    DuplicateIdError
        Two or more records share the key; all of them are counted.
    """
    dup = frame.duplicated(subset=list(schema.unique_key), keep=False).to_numpy()
    if dup.any():
        if schema.key_columns:
            what = "id and " + ", ".join(schema.key_columns)
            fix = f"keep one record per {what} (merge or delete the duplicates)"
        else:
            what, fix = "id", "keep one record per enterprise (merge or delete the duplicates)"
        raise DuplicateIdError(
            where.path,
            f"the same {what} appears in more than one record",
            fix,
            column=schema.id_column,
            **where.rows(dup),
        )


def check_field(
    series: pd.Series, spec: FieldSpec, schema: DatasetSchema, where: Where
) -> pd.Series:
    """Convert one column to its declared type, refusing wrong types and missing required values.

    Raises
    ------
    WrongTypeError
        A value does not parse as the declared type (or a label is not 0/1).
    MissingValueError
        A required value is empty or NaN (``kind="missing"``), or any numeric value is
        infinite (``kind="infinite"``: never a valid credit feature).
    """
    values, missing, bad = _convert(series, spec)
    if bad.any():
        raise WrongTypeError(
            where.path,
            f"the value is not of type {spec.dtype.value}",
            f"write {_TYPE_HINT[spec.dtype]}, or change the field's 'type' in the schema",
            column=spec.name,
            **where.rows(bad),
        )
    if spec.dtype in (FieldType.INT, FieldType.FLOAT):
        infinite = np.isinf(values.to_numpy(dtype="float64", na_value=np.nan))
        if infinite.any():
            raise MissingValueError(
                where.path,
                "the value is infinite",
                "replace it with a finite number (or leave it empty if the field is optional)",
                kind="infinite",
                column=spec.name,
                **where.rows(infinite),
            )
    if spec.required and missing.any():
        raise MissingValueError(
            where.path,
            "the field is required but the value is empty or NaN",
            "fill in the value, drop the record, or set 'required: false' on the field",
            kind="missing",
            column=spec.name,
            **where.rows(missing),
        )
    if spec.name == schema.label_column and spec.dtype is FieldType.INT:
        off = ~np.isin(values.to_numpy(dtype="float64"), (0.0, 1.0))
        if off.any():
            raise WrongTypeError(
                where.path,
                "the label is not 0 or 1",
                "encode the label as 1 = default, 0 = no default",
                column=spec.name,
                **where.rows(off),
            )
    return _finish(values, spec, missing)


def validate_frame(frame: pd.DataFrame, schema: DatasetSchema, where: Where) -> pd.DataFrame:
    """Check ``frame`` against ``schema`` and return it with every column converted.

    The id column is normalised (stripped, upper-cased for USCC) so that every party hashes
    the same string in entity alignment. Columns come back in schema order.

    Raises
    ------
    DatasetError
        One of the subclasses raised by ``check_columns``, ``check_ids`` and ``check_field``.
    """
    frame = check_columns(frame.reset_index(drop=True), schema, where)
    out: dict[str, pd.Series] = {}
    for spec in schema.fields:
        if spec.name == schema.id_column:
            out[spec.name] = check_ids(frame[spec.name], schema, where)
        else:
            out[spec.name] = check_field(frame[spec.name], spec, schema, where)
    result = pd.DataFrame(out, index=frame.index)
    if schema.key_columns:
        check_unique(result, schema, where)
    return result
