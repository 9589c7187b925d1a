"""One way to open the small SQLite stores a node keeps in its state folder.

The model registry, decision records, scoring caps and authorization store are each one
SQLite file, written by the node and sometimes by a CLI command at the same time: WAL so
readers never block the writer, a busy timeout so two writers queue instead of failing,
autocommit (``isolation_level=None``) so each store says where its transactions begin.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Literal

from node.state import private_file


def open_state_db(
    path: Path, schema: str, synchronous: Literal["NORMAL", "FULL"] = "FULL"
) -> sqlite3.Connection:
    """Open (creating folder and tables as needed) a store shared by the node's threads.

    ``synchronous="NORMAL"`` skips the fsync of each commit (the next checkpoint syncs it):
    for stores whose last writes may be lost to a power cut, never to a process crash.
    """
    private_file(path)  # 0600 in a 0700 folder; SQLite's -wal and -shm files follow its mode
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={synchronous}")
    db.execute("PRAGMA busy_timeout=5000")
    db.executescript(schema)
    return db
