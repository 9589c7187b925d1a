"""The real credit data set the repository ships (``data/default_credit/``, gzip-compressed).

The demo, the tests and the benchmarks all read this copy, so a fresh clone needs nothing
beside it. Nodes serve plain files, so callers that hand the data to a node extract it first;
pandas reads the compressed files directly.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path
from typing import Final

BUNDLED_DIR: Final = Path(__file__).resolve().parents[2] / "data" / "default_credit"
FILES: Final = (
    "default_credit_hetero_guest.csv",
    "default_credit_hetero_host.csv",
    "default_credit_homo_guest.csv",
    "default_credit_homo_host_1.csv",
    "default_credit_homo_host_2.csv",
    "default_credit_homo_test.csv",
)


class BundledDataMissing(FileNotFoundError):
    """The repository's data folder is not where this module expects it."""


def compressed(name: str) -> Path:
    """The ``.csv.gz`` file of one split, e.g. ``compressed("default_credit_hetero_guest.csv")``.

    Raises
    ------
    BundledDataMissing
        The name is not one of :data:`FILES`, or the file is absent (an installed copy of the
        package without its repository).
    """
    if name not in FILES:
        raise BundledDataMissing(
            f"{name!r} is not a bundled file; choose one of {', '.join(FILES)}"
        )
    path = BUNDLED_DIR / f"{name}.gz"
    if not path.is_file():
        raise BundledDataMissing(
            f"{path} is missing; run from a clone of the fedcredit repository, "
            "or pass your own files"
        )
    return path


def extract(dest: Path) -> Path:
    """Write the decompressed CSV files into ``dest`` (kept when already there) and return it."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        target = dest / name
        if target.is_file():
            continue
        partial = target.with_suffix(".csv.partial")
        with gzip.open(compressed(name), "rb") as src, partial.open("wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        partial.replace(target)
    return dest
