"""SQLite storage of the access log: entries, stored tree nodes, checkpoints, search columns.

One database file per log (``access-log.sqlite`` in the log directory), in WAL mode with
``synchronous=FULL``: a transaction is on disk when ``commit`` returns, and a crash (even
``kill -9`` or power loss) leaves either the whole transaction or none of it, so a batch of
entries never appears torn. Each batch stores, in the same transaction, the entries, their
leaf hashes, every perfect subtree the batch completed and any checkpoint signed over it.

Stored nodes are the *perfect, aligned* subtrees of the RFC 6962 tree (level ``L >= 1``,
index ``i`` covering leaves ``[i * 2**L, (i + 1) * 2**L)``), keyed by ``L << 40 | i``; leaf
hashes (level 0) sit in the ``entries`` row. Any subtree of any tree size the log ever had is
the fold of at most ``log2(n)`` of them, so an inclusion or consistency proof costs two
indexed reads, never a recomputation (``docs/audit-log.md``).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

from node.audit.exceptions import LogCorruptError
from node.audit.merkle import fold_right, perfect_subtrees
from node.audit.search import SearchQuery

DB_NAME: Final = "access-log.sqlite"
STORE_FORMAT: Final = "1"
LEVEL_SHIFT: Final = 40
MAX_LEAVES: Final = 1 << LEVEL_SHIFT

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    idx INTEGER PRIMARY KEY,
    data BLOB NOT NULL,
    leaf BLOB NOT NULL,
    time TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    job TEXT NOT NULL,
    dataset TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS subjects (
    token TEXT NOT NULL, idx INTEGER NOT NULL, PRIMARY KEY (token, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS nodes (id INTEGER PRIMARY KEY, hash BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (
    id INTEGER PRIMARY KEY AUTOINCREMENT, size INTEGER NOT NULL, data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_time ON entries (time);
CREATE INDEX IF NOT EXISTS entries_action ON entries (action, time);
CREATE INDEX IF NOT EXISTS entries_job ON entries (job);
CREATE INDEX IF NOT EXISTS entries_dataset ON entries (dataset);
CREATE INDEX IF NOT EXISTS entries_actor ON entries (actor);
"""

# Append-only at the database level too: rows can be inserted, never changed or removed.
# Anyone with file access can drop these triggers, so they are a guard against mistakes and
# careless tools, not a security boundary; tampering is caught by ``verify``.
_APPEND_ONLY_TABLES: Final = ("entries", "subjects", "nodes", "checkpoints")
_TRIGGERS: Final = "".join(
    f"""
CREATE TRIGGER IF NOT EXISTS {table}_no_{op} BEFORE {op.upper()} ON {table}
BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;"""
    for table in _APPEND_ONLY_TABLES
    for op in ("update", "delete")
)

EntryRow = tuple[int, bytes, bytes, str, str, str, str, str]
"""``(idx, data, leaf, time, actor label, action, job, dataset)``."""


def node_id(level: int, index: int) -> int:
    """Return the ``nodes`` key of the perfect subtree at ``(level, index)``."""
    return (level << LEVEL_SHIFT) | index


class LogStore:
    """The SQLite file of one access log.

    Writes go through one connection used only by the log's committer thread; reads use a
    second connection under its own lock, so proofs and searches never wait for an fsync.

    Parameters
    ----------
    directory
        The log directory; created when writable and missing.
    readonly
        Open for auditors: no schema changes, no writes (SQLite ``mode=ro``).

    Raises
    ------
    FileNotFoundError
        ``readonly`` and there is no log in ``directory``.
    LogCorruptError
        The file has another store format.
    """

    def __init__(self, directory: Path, *, readonly: bool = False) -> None:
        self.path = Path(directory) / DB_NAME
        self.readonly = readonly
        self._read_lock = threading.Lock()
        if readonly:
            if not self.path.is_file():
                raise FileNotFoundError(f"no access log in {directory} (missing {DB_NAME})")
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            self._writer: sqlite3.Connection | None = None
            self._reader = sqlite3.connect(uri, uri=True, check_same_thread=False)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            writer = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            writer.execute("PRAGMA journal_mode=WAL")
            # FULL: the WAL is fsynced at every commit, so an acknowledged append survives
            # power loss, not just a process crash (NORMAL would only survive the latter).
            writer.execute("PRAGMA synchronous=FULL")
            writer.executescript(_SCHEMA + _TRIGGERS)
            writer.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('format', ?)", (STORE_FORMAT,)
            )
            self._writer = writer
            self._reader = sqlite3.connect(self.path, check_same_thread=False)
        fmt = self._reader.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        if fmt is None or fmt[0] != STORE_FORMAT:
            raise LogCorruptError(f"unknown store format {fmt[0] if fmt else None!r}")

    # -- metadata -------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        """Return a metadata value (e.g. ``origin``), or ``None``."""
        with self._read_lock:
            row = self._reader.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Durably set a metadata value (writable stores only)."""
        writer = self._require_writer()
        writer.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # -- writing --------------------------------------------------------------------------

    def _require_writer(self) -> sqlite3.Connection:
        if self._writer is None:
            raise PermissionError("the access log was opened read-only")
        return self._writer

    def write_batch(
        self,
        entries: Sequence[EntryRow],
        subjects: Sequence[tuple[str, int]],
        nodes: Sequence[tuple[int, bytes]],
        checkpoints: Sequence[tuple[int, bytes]],
    ) -> None:
        """Store one batch in a single durable transaction: all of it or, on a crash, none.

        Raises
        ------
        sqlite3.Error
            The write failed (disk full, I/O error); nothing of the batch was stored.
        """
        writer = self._require_writer()
        writer.execute("BEGIN IMMEDIATE")
        try:
            writer.executemany("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)", entries)
            if subjects:
                writer.executemany("INSERT INTO subjects (token, idx) VALUES (?, ?)", subjects)
            if nodes:
                writer.executemany("INSERT INTO nodes (id, hash) VALUES (?, ?)", nodes)
            if checkpoints:
                writer.executemany(
                    "INSERT INTO checkpoints (size, data) VALUES (?, ?)", checkpoints
                )
            writer.execute("COMMIT")
        except BaseException:
            writer.execute("ROLLBACK")
            raise

    # -- reading --------------------------------------------------------------------------

    def size(self, *, check_gaps: bool = False) -> int:
        """Return the number of stored entries: one past the highest index.

        ``check_gaps`` also counts the rows (a full scan, so only on open) to make sure the
        indexes are exactly ``0 .. n-1``.

        Raises
        ------
        LogCorruptError
            ``check_gaps`` and entry indexes have gaps (rows were deleted).
        """
        with self._read_lock:
            (top,) = self._reader.execute("SELECT MAX(idx) FROM entries").fetchone()
            count = (
                self._reader.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
                if check_gaps
                else None
            )
        n = 0 if top is None else int(top) + 1
        if count is not None and n != count:
            raise LogCorruptError(f"{n - count} entry row(s) missing below index {n}")
        return n

    def entry(self, index: int) -> bytes | None:
        """Return the stored bytes of entry ``index``, or ``None``."""
        with self._read_lock:
            row = self._reader.execute(
                "SELECT CAST(data AS BLOB) FROM entries WHERE idx = ?", (index,)
            ).fetchone()
        return None if row is None else bytes(row[0])

    def iter_entries(
        self, start: int = 0, end: int | None = None, batch: int = 4096
    ) -> Iterator[tuple[int, bytes, bytes]]:
        """Yield ``(index, data, stored leaf hash)`` in index order, gaps and all."""
        pos = start
        stop = MAX_LEAVES if end is None else end
        while pos < stop:
            with self._read_lock:
                rows = self._reader.execute(
                    "SELECT idx, CAST(data AS BLOB), CAST(leaf AS BLOB) FROM entries "
                    "WHERE idx >= ? AND idx < ? "
                    "ORDER BY idx LIMIT ?",
                    (pos, stop, batch),
                ).fetchall()
            if not rows:
                return
            yield from rows
            pos = rows[-1][0] + 1

    def iter_rows(self, batch: int = 4096) -> Iterator[EntryRow]:
        """Yield every entry row with its search columns, in index order (for ``verify``).

        The search columns come back as stored, type and all: a column rewritten as a blob
        or a number compares differently in SQL and must not pass as the text it resembles.
        """
        pos = 0
        while True:
            with self._read_lock:
                rows = self._reader.execute(
                    "SELECT idx, CAST(data AS BLOB), CAST(leaf AS BLOB), "
                    "time, actor, action, job, dataset "
                    "FROM entries WHERE idx >= ? ORDER BY idx LIMIT ?",
                    (pos, batch),
                ).fetchall()
            if not rows:
                return
            yield from rows
            pos = rows[-1][0] + 1

    def iter_subjects(self, batch: int = 4096) -> Iterator[tuple[object, object]]:
        """Yield every ``(entry index, firm token)`` row of the subject index, as stored.

        In primary-key order (token, then index), paged on the key, so the table is streamed
        without a sort whatever its size.
        """
        query = "SELECT token, idx FROM subjects {} ORDER BY token, idx LIMIT ?"
        rows: list[tuple[object, object]] = []
        while True:
            with self._read_lock:
                if rows:
                    last = rows[-1]
                    rows = self._reader.execute(
                        query.format("WHERE (token, idx) > (?, ?)"), (*last, batch)
                    ).fetchall()
                else:
                    rows = self._reader.execute(query.format(""), (batch,)).fetchall()
            if not rows:
                return
            for token, idx in rows:
                yield idx, token
            if len(rows) < batch:
                return

    def subtree_hashes(self, parts: Sequence[tuple[int, int]]) -> list[bytes]:
        """Return the stored hashes of the perfect subtrees ``(level, index)``, in order.

        Raises
        ------
        LogCorruptError
            A node the log must have written is missing.
        """
        leaf_idx = [i for level, i in parts if level == 0]
        ids = [node_id(level, i) for level, i in parts if level > 0]
        found: dict[tuple[int, int], bytes] = {}
        with self._read_lock:
            if leaf_idx:
                marks = ",".join("?" * len(leaf_idx))
                for idx, leaf in self._reader.execute(
                    f"SELECT idx, CAST(leaf AS BLOB) FROM entries WHERE idx IN ({marks})", leaf_idx
                ):
                    found[(0, idx)] = bytes(leaf)
            if ids:
                marks = ",".join("?" * len(ids))
                for key, h in self._reader.execute(
                    f"SELECT id, CAST(hash AS BLOB) FROM nodes WHERE id IN ({marks})", ids
                ):
                    found[(key >> LEVEL_SHIFT, key & (MAX_LEAVES - 1))] = bytes(h)
        try:
            return [found[p] for p in parts]
        except KeyError as missing:
            raise LogCorruptError(f"stored tree node {missing.args[0]} is missing") from None

    def range_hashes(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        """Return the RFC 6962 hash of each leaf range ``[start, end)``, from stored nodes."""
        split = [perfect_subtrees(s, e) for s, e in ranges]
        flat = [p for parts in split for p in parts]
        hashes = iter(self.subtree_hashes(flat))
        return [fold_right([next(hashes) for _ in parts]) for parts in split]

    def node_hashes_at_level(self, level: int, start: int, end: int) -> Iterator[tuple[int, bytes]]:
        """Yield stored ``(index, hash)`` of nodes at ``level`` with index in ``[start, end)``."""
        lo, hi = node_id(level, start), node_id(level, end)
        with self._read_lock:
            rows = self._reader.execute(
                "SELECT id, hash FROM nodes WHERE id >= ? AND id < ? ORDER BY id", (lo, hi)
            ).fetchall()
        for key, h in rows:
            yield key & (MAX_LEAVES - 1), bytes(h)

    def checkpoints(self) -> list[bytes]:
        """Return every stored signed checkpoint, oldest first."""
        with self._read_lock:
            rows = self._reader.execute(
                "SELECT CAST(data AS BLOB) FROM checkpoints ORDER BY id"
            ).fetchall()
        return [bytes(r[0]) for r in rows]

    def latest_checkpoint(self) -> bytes | None:
        """Return the most recently stored signed checkpoint, or ``None``."""
        with self._read_lock:
            row = self._reader.execute(
                "SELECT CAST(data AS BLOB) FROM checkpoints ORDER BY id DESC LIMIT 1"
            ).fetchone()
        return None if row is None else bytes(row[0])

    def search(self, query: SearchQuery) -> list[tuple[int, bytes]]:
        """Return candidate ``(index, data)`` rows for ``query`` (re-check with ``matches``)."""
        where, params = query.sql()
        with self._read_lock:
            rows = self._reader.execute(
                f"SELECT idx, CAST(data AS BLOB) FROM entries WHERE {where} ORDER BY idx LIMIT ?",
                [*params, query.limit],
            ).fetchall()
        return [(int(i), bytes(d)) for i, d in rows]

    def close(self) -> None:
        """Close both connections."""
        with self._read_lock:
            self._reader.close()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
