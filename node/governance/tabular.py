"""Read a table in whatever form it leaked: CSV (any common delimiter), Parquet, Excel, JSON.

A leaked copy is rarely in the form it was released in. The reader recognises the format by
its content, not its name (Parquet and ``.xlsx`` by their magic bytes, JSON by its first
character), reads every sheet of a workbook, and accepts the JSON shapes pandas and common
tools write (records, columns, split, JSON lines). ``write_table`` writes the same formats.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Final

import pandas as pd

FORMATS: Final = ("csv", "parquet", "xlsx", "json")
_SNIFF_BYTES: Final = 64 * 1024


class UnreadableTable(ValueError):
    """The file is not a table in a format the tracer reads; the message says what to do."""


def _from_json(text: str) -> pd.DataFrame:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        lines = [json.loads(line) for line in text.splitlines() if line.strip()]
        return pd.DataFrame.from_records(lines)
    if isinstance(obj, list):
        return pd.DataFrame.from_records(obj)
    if isinstance(obj, dict) and {"columns", "data"} <= set(obj):
        return pd.DataFrame(obj["data"], columns=obj["columns"])
    if isinstance(obj, dict) and isinstance(obj.get("data"), list):  # orient="table"
        return pd.DataFrame.from_records(obj["data"])
    if isinstance(obj, dict):
        return pd.DataFrame(obj)
    raise ValueError("JSON holds neither records nor columns")


def read_table(path: Path | str) -> pd.DataFrame:
    """The table in ``path``, whatever its format.

    Raises
    ------
    UnreadableTable
        The file is missing, empty, or none of CSV, Parquet, Excel and JSON.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableTable(f"cannot read {path}: {exc.strerror}; check the path") from None
    if not data.strip():
        raise UnreadableTable(f"{path} is empty; give the leaked file itself")
    try:
        if data[:4] == b"PAR1":
            return pd.read_parquet(io.BytesIO(data))
        if data[:4] == b"PK\x03\x04":
            sheets = pd.read_excel(io.BytesIO(data), sheet_name=None, engine="openpyxl")
            return pd.concat(list(sheets.values()), ignore_index=True)
        text = data.decode("utf-8-sig")
        if text.lstrip()[:1] in ("[", "{"):
            return _from_json(text)
        try:
            dialect = csv.Sniffer().sniff(text[:_SNIFF_BYTES], delimiters=",;\t|")
            sep = dialect.delimiter
        except csv.Error:
            sep = ","
        return pd.read_csv(io.StringIO(text), sep=sep)
    except UnicodeDecodeError:
        raise UnreadableTable(
            f"{path} is neither Parquet, Excel (.xlsx) nor UTF-8 text (CSV or JSON); "
            "convert it to one of those"
        ) from None
    except Exception as exc:  # every parser has its own error types; the message is enough
        raise UnreadableTable(
            f"{path} could not be read as a table ({type(exc).__name__}); "
            "give a CSV, Parquet, Excel (.xlsx) or JSON file"
        ) from None


def write_table(frame: pd.DataFrame, path: Path | str, fmt: str) -> None:
    """Write ``frame`` as ``fmt`` (one of ``FORMATS``).

    Raises
    ------
    ValueError
        ``fmt`` is not one of ``FORMATS``.
    """
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "parquet":
        frame.to_parquet(path, index=False)
    elif fmt == "xlsx":
        frame.to_excel(path, index=False, engine="openpyxl")
    elif fmt == "json":
        frame.to_json(path, orient="records", force_ascii=False, date_format="iso")
    else:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
