"""Where a party's ids come from: a column in memory, or a Parquet or CSV file read in chunks.

PSI never needs a party's whole id column as Python objects: each chunk is validated in a
worker and comes back as a numpy array of fixed-width bytes, so ten million ids cost a few
hundred megabytes instead of gigabytes of ``str``. ``IdChunks`` wraps any iterable of chunks;
a chunk is anything ``validate_chunk`` accepts (a list, a pandas Series slice, a pyarrow
array), sent to a worker whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from node.psi.exceptions import PsiSpecError

# Ids per chunk (one validation task): about 0.1 s of work, a few MB in flight per chunk.
CHUNK_ROWS: Final = 65_536
PARQUET_SUFFIXES: Final = (".parquet", ".pq")
CSV_SUFFIXES: Final = (".csv", ".csv.gz")


@dataclass(frozen=True)
class IdChunks:
    """A party's id column as consecutive chunks, in row order.

    ``chunks`` is iterated once. The row position of an id is its offset in the
    concatenation of the chunks.
    """

    chunks: Iterable[Any]


def chunks_of(column: Sequence[object] | Any, rows: int = CHUNK_ROWS) -> IdChunks:
    """Cut an in-memory column (list, pandas Series, numpy or pyarrow array) into chunks.

    Slices of a Series or an array are views: no copy of the column is made here.
    """
    if rows < 1:
        raise ValueError("rows must be positive")

    def slices() -> Iterator[Any]:
        sliced = getattr(column, "iloc", column)
        for start in range(0, len(column), rows):
            yield sliced[start : start + rows]

    return IdChunks(slices())


def ids_from_file(path: Path, column: str, rows: int = CHUNK_ROWS) -> IdChunks:
    """Read one column of a Parquet or CSV file lazily, ``rows`` ids at a time.

    CSV values are read as text, exactly as written (no type guessing), like the dataset
    loader does; a gzip-compressed CSV (``.csv.gz``) is decompressed on the fly.

    Raises
    ------
    PsiSpecError
        The file type is not Parquet or CSV, or the file has no such column (raised at once,
        before any chunk is read).
    """
    name = path.name.lower()
    if name.endswith(PARQUET_SUFFIXES):
        parquet = pq.ParquetFile(path)
        if column not in parquet.schema_arrow.names:
            raise _no_column(path, column)
        batches = parquet.iter_batches(batch_size=rows, columns=[column])
        return IdChunks(batch.column(0) for batch in batches)
    if name.endswith(CSV_SUFFIXES):
        header = pa_csv.open_csv(pa.input_stream(path, compression="detect")).schema.names
        if column not in header:
            raise _no_column(path, column)
        return IdChunks(_csv_chunks(path, column, rows))
    raise PsiSpecError(
        path.name,
        "ids are read from Parquet (.parquet) or CSV (.csv) files",
        fix="convert the dataset to one of them",
    )


def _no_column(path: Path, column: str) -> PsiSpecError:
    return PsiSpecError(
        path.name, f"has no column {column!r}", fix="name the id column the file has (id_field)"
    )


def _csv_chunks(path: Path, column: str, rows: int) -> Iterator[pa.Array]:
    reader = pa_csv.open_csv(
        pa.input_stream(path, compression="detect"),
        # Blocks of about ``rows`` short ids; the reader never holds more than one.
        read_options=pa_csv.ReadOptions(block_size=max(1 << 20, rows * 32)),
        convert_options=pa_csv.ConvertOptions(
            include_columns=[column],
            column_types={column: pa.string()},
            strings_can_be_null=False,
        ),
    )
    for batch in reader:
        ids = batch.column(0)
        for start in range(0, len(ids), rows):
            yield ids.slice(start, rows)
