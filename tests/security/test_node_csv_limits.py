"""Finding 9 (CSV half): a dataset file with a gigantic line, read by the real loader.

The loader runs in its own process, which reports its peak resident memory before and after
the attempt (``getrusage``: a high-water mark, not a timing), so the bound is measured.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from node.data.loader import MAX_FIELD_CHARS, MAX_LINE_CHARS

pytestmark = pytest.mark.slow

HUGE = 300 * 1024 * 1024  # 300 MiB in one line: the old reader held it whole, several times
SCHEMA = {
    "version": 1,
    "name": "loans",
    "id_column": "uscc",
    "id_is_uscc": True,
    "fields": [
        {"name": "uscc", "type": "str", "class": "C2"},
        {"name": "note", "type": "str", "class": "C1"},
    ],
}
CHILD = """
import json, resource, sys
from node.data.exceptions import DatasetError
from node.data.loader import load_dataset
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    load_dataset(sys.argv[1], json.loads(sys.argv[2]))
    message = "loaded"
except DatasetError as exc:
    message = str(exc)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"before_kb": before, "after_kb": after, "message": message}))
"""


def _load(path: Path) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), json.dumps(SCHEMA)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return dict(json.loads(result.stdout))


def _write(path: Path, head: bytes, fill: bytes, size: int) -> Path:
    with path.open("wb") as fh:
        fh.write(b"uscc,note\n" + head)
        chunk = fill * (1 << 20)
        for _ in range(size >> 20):
            fh.write(chunk)
        fh.write(b"\n")
    return path


def test_gigantic_line_is_refused_by_number_in_bounded_memory(tmp_path: Path) -> None:
    # prepare: an unquoted 300 MiB line (no newline for the reader to stop at)
    path = _write(tmp_path / "huge.csv", b"91350100M000100Y43,", b"A", HUGE)

    # execute
    outcome = _load(path)

    # assert: refused naming the line and the limit; memory grew by a few MB, not by GBs
    message = str(outcome["message"])
    assert "file line 2" in message and f"{MAX_LINE_CHARS:,}" in message, message
    assert int(outcome["after_kb"]) - int(outcome["before_kb"]) < 64 * 1024


def test_unbalanced_quote_is_refused_by_line_in_bounded_memory(tmp_path: Path) -> None:
    # prepare: a quote opened on line 3 and never closed, over many short lines
    path = tmp_path / "quote.csv"
    with path.open("wb") as fh:
        fh.write(b'uscc,note\n91350100M000100Y43,fine\n91350100M000100Y43,"open\n')
        fh.write(b"more text, still inside the quote\n" * 2_000_000)

    # execute
    outcome = _load(path)

    # assert
    message = str(outcome["message"])
    assert "file line 3" in message and f"{MAX_FIELD_CHARS:,}" in message, message
    assert int(outcome["after_kb"]) - int(outcome["before_kb"]) < 64 * 1024
