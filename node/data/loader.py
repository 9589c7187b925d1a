"""Read a CSV or Parquet dataset with pandas and validate it against its schema.

CSV files are read with every column as text and no guessing, so that ids keep their exact
characters (no lost leading zeros, no float ids) and a stray word in a numeric column is
reported by position instead of silently turning the column into text.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TextIO

import numpy as np
import pandas as pd

from node.data.exceptions import UnreadableFileError
from node.data.schema import DatasetSchema, load_schema, schema_from_dict
from node.data.validate import Where, validate_frame

logger = logging.getLogger("fedcredit.node.data.loader")

CSV_SUFFIXES: Final = (".csv",)
PARQUET_SUFFIXES: Final = (".parquet", ".pq")
_LINE_RE: Final = re.compile(r"line (\d+)")
# Bounds that hold memory to a few MB whatever the file: a credit dataset's widest record
# (hundreds of columns of codes, amounts and short text) is a few KB, so 1 MiB per physical
# line is far above real data; a field may not exceed the csv module's own default limit.
MAX_LINE_CHARS: Final = 1 << 20
MAX_FIELD_CHARS: Final = 131_072


@dataclass(frozen=True)
class LoadedDataset:
    """A dataset that passed validation: every column converted to its declared type.

    Attributes
    ----------
    name
        The schema's dataset name.
    path
        The file it was read from.
    schema
        The schema it was checked against.
    frame
        The data, columns in schema order, ids normalised, one row per enterprise.
    """

    name: str
    path: Path
    schema: DatasetSchema
    frame: pd.DataFrame

    @property
    def ids(self) -> list[str]:
        """The normalised ids in row order (input to private entity alignment)."""
        return list(self.frame[self.schema.id_column].tolist())

    def __len__(self) -> int:
        return len(self.frame)


def _resolve_schema(schema: DatasetSchema | Mapping[str, Any] | Path | str) -> DatasetSchema:
    if isinstance(schema, DatasetSchema):
        return schema
    if isinstance(schema, Mapping):
        return schema_from_dict(schema)
    return load_schema(schema)


def _unreadable(path: Path, problem: str, fix: str, line: int | None = None) -> UnreadableFileError:
    lines = (line,) if line is not None else ()
    rows = (line - 1,) if line is not None and line > 1 else ()
    return UnreadableFileError(path, problem, fix, rows=rows, lines=lines if rows else ())


def _bounded_lines(path: Path, fh: TextIO) -> Iterator[str]:
    """The file's lines, each read with a bound, refusing the first one over ``MAX_LINE_CHARS``.

    Iterating a text file reads a whole line into memory however long it is (a 1 GiB line
    took 2.4 GB); ``readline`` with a size never holds more than the bound.
    """
    number = 0
    while line := fh.readline(MAX_LINE_CHARS + 1):
        number += 1
        if len(line) > MAX_LINE_CHARS:
            raise _unreadable(
                path,
                f"file line {number} is longer than {MAX_LINE_CHARS:,} characters "
                "(the limit per line)",
                "check that the file is a CSV with one record per line; split oversized text",
                number,
            )
        yield line


def _scan_csv(path: Path) -> np.ndarray:
    """Check the CSV's shape and return the file line of every data record.

    pandas silently renames a repeated header name, pads a short record with empty fields and,
    when the first record is one field too long, turns the first column into an index; this
    pass refuses all three with the exact line, so the user is never told about a wrong column.
    It also bounds memory before pandas reads the file: no line over ``MAX_LINE_CHARS`` and
    no field (a quoted one may span lines) over ``MAX_FIELD_CHARS``, each refused by line.
    """
    lines: list[int] = []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(_bounded_lines(path, fh))
        start = 1
        try:
            header = next(reader, [])
            _check_header(path, header)
            while True:
                start = reader.line_num + 1  # a quoted field may span lines: name the first
                record = next(reader, None)
                if record is None:
                    break
                if not record:
                    continue  # blank line, skipped by pandas too
                if len(record) != len(header):
                    raise UnreadableFileError(
                        path,
                        f"the record has {len(record)} fields but the header has {len(header)}",
                        "make every line have as many comma-separated fields as the header "
                        "(quote values that contain commas)",
                        rows=(len(lines) + 1,),
                        lines=(start,),
                    )
                lines.append(start)
        except csv.Error as exc:
            raise _malformed(path, str(exc), start) from None
    return np.asarray(lines, dtype=np.int64)


def _check_header(path: Path, header: list[str]) -> None:
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise UnreadableFileError(
                path,
                f"the header names column {name!r} twice",
                "give every column a distinct name",
                column=name,
                lines=(1,),
            )
        seen.add(name)


def _malformed(path: Path, reason: str, line: int) -> UnreadableFileError:
    """The csv module's refusal, said with the record's first line (its text names neither)."""
    if "field limit" in reason:
        return _unreadable(
            path,
            f"a field of the record starting on file line {line} is longer than "
            f"{MAX_FIELD_CHARS:,} characters (the limit per field)",
            "close the quote that opens there, or shorten the value",
            line,
        )
    return _unreadable(
        path,
        f"the record starting on file line {line} is malformed (an unbalanced quote, "
        "a NUL byte or a stray character)",
        "check the quoting on that line; values with commas or quotes must be quoted",
        line,
    )


def _read_csv(path: Path) -> tuple[pd.DataFrame, np.ndarray | None]:
    try:
        lines = _scan_csv(path)
        frame = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            encoding="utf-8-sig",
            index_col=False,
        )
    except UnreadableFileError:
        raise
    except pd.errors.EmptyDataError:
        raise _unreadable(path, "the file is empty", "write a header line and data rows") from None
    except (pd.errors.ParserError, csv.Error) as exc:
        match = _LINE_RE.search(str(exc))
        line = int(match.group(1)) if match else None
        raise _unreadable(
            path,
            "the CSV is malformed (an unbalanced quote or a stray character)",
            "check the quoting on that line; values with commas or quotes must be quoted",
            line,
        ) from None
    except UnicodeDecodeError:
        raise _unreadable(path, "the file is not UTF-8 text", "save it as UTF-8 CSV") from None
    except OSError as exc:
        raise _unreadable(
            path,
            f"the file cannot be read ({type(exc).__name__})",
            "check the file's permissions and that the disk is reachable",
        ) from None
    # Both passes agree on the record count unless the file has constructs only one of them
    # understands; then fall back to "line = row + 1" rather than name wrong lines.
    return frame, lines if len(lines) == len(frame) else None


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise _unreadable(
            path,
            f"the file is not a readable Parquet file ({type(exc).__name__})",
            "rewrite it with pandas.DataFrame.to_parquet or pyarrow",
        ) from None


def read_table(path: Path) -> tuple[pd.DataFrame, np.ndarray | None]:
    """Read ``path`` by its suffix; return the raw frame and each row's file line (CSV only).

    Raises
    ------
    UnreadableFileError
        The file is missing, has an unknown suffix, cannot be parsed, or has no data rows.
    """
    if not path.is_file():
        raise _unreadable(path, "the file does not exist", "check the dataset path")
    suffix = path.suffix.lower()
    line_of: np.ndarray | None = None
    if suffix in CSV_SUFFIXES:
        frame, line_of = _read_csv(path)
        if line_of is None:
            line_of = np.arange(2, len(frame) + 2, dtype=np.int64)
    elif suffix in PARQUET_SUFFIXES:
        frame = _read_parquet(path)
    else:
        raise _unreadable(
            path,
            f"the file type {suffix or '(none)'!r} is not supported",
            "use a .csv or .parquet file",
        )
    if frame.empty:
        raise _unreadable(path, "the file has no data rows", "add the records below the header")
    return frame, line_of


def load_dataset(
    path: Path | str, schema: DatasetSchema | Mapping[str, Any] | Path | str
) -> LoadedDataset:
    """Read and validate a dataset; the node refuses to start when this raises.

    Parameters
    ----------
    path
        A ``.csv`` (UTF-8, comma-separated, one header line) or ``.parquet`` file.
    schema
        A ``DatasetSchema``, its mapping form, or the path of a schema YAML file.

    Raises
    ------
    SchemaError
        The schema is invalid.
    DatasetError
        The file is unreadable or fails a check; the subclass says which, the message names
        file, column and row (never the value) and the fix.
    """
    path = Path(path)
    resolved = _resolve_schema(schema)
    raw, line_of = read_table(path)
    frame = validate_frame(raw, resolved, Where(path=path, line_of=line_of))
    logger.info("loaded dataset %s: %d rows, %d columns", resolved.name, len(frame), frame.shape[1])
    return LoadedDataset(name=resolved.name, path=path, schema=resolved, frame=frame)
