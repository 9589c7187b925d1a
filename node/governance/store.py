"""The node's governance database: one SQLite file beside the access log.

Release records (``registry``), containment states (``containment``) and the alerts the
monitor raised share ``<state_dir>/governance/governance.sqlite``. The node process writes;
the operator's ``trace`` and ``incident`` commands open it read-only while the node runs (WAL
lets readers work beside the writer).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

DB_NAME: Final = "governance.sqlite"


class GovernanceStoreError(Exception):
    """The governance database is missing, unreadable or was written by another format."""


class GovernanceDB:
    """A thread-safe connection to the governance database.

    Parameters
    ----------
    directory
        ``<state_dir>/governance``; created when opened for writing.
    readonly
        Open without write access (the operator's tools beside a running node).

    Raises
    ------
    GovernanceStoreError
        ``readonly`` and there is no database in ``directory``.
    """

    def __init__(self, directory: Path | str, *, readonly: bool = False) -> None:
        self.path = Path(directory) / DB_NAME
        self._lock = threading.Lock()
        if readonly:
            if not self.path.is_file():
                raise GovernanceStoreError(
                    f"no governance database at {self.path}; point --config at the node whose "
                    "releases you mean (its state_dir holds governance/)"
                )
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: a release record must survive power loss once the table has left the node.
            self._db.execute("PRAGMA synchronous=FULL")
        self.readonly = readonly

    def ensure(self, schema: str) -> None:
        """Create the tables a component needs (``CREATE TABLE IF NOT EXISTS ...``); a
        read-only view skips this and reads nothing from tables that do not exist yet."""
        if not self.readonly:
            with self._lock:
                self._db.executescript(schema)

    def query(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read and return all rows."""
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):
                    return []  # a node that never wrote that kind of record yet
                raise

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (committed on exit, rolled back on error)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()
