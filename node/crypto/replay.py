"""A replay guard whose memory survives restarts: seen nonces kept in SQLite.

``ReplayGuard`` remembers (sender, nonce) pairs in memory, so a party that restarts would
accept once more any envelope from the last window (five minutes by default) that a relay
recorded. This guard keeps the pairs in a SQLite file in the party's state folder instead,
with the same bounds: a pair is kept for ``2 * window_s`` after it was seen (older envelopes
fail the timestamp check anyway), and no more than ``max_entries`` pairs are held, refusing
rather than forgetting when full.

The write is the check: a pair is inserted under its primary key, and a second insert of the
same pair fails inside SQLite, so two processes sharing the file (a node restarted while the
old one drains) cannot both accept it. The journal is WAL with ``synchronous=NORMAL``: a pair
is safe once the call returns if the process crashes or is killed; a power loss can forget
the pairs of the last moments before it (``FULL`` would fsync every envelope). The file holds
sender names, random nonces and times: nothing secret.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Final

from node.crypto.envelope import (
    ALREADY_RECEIVED,
    DEFAULT_MAX_ENTRIES,
    DEFAULT_WINDOW_S,
    ReplayGuard,
    cache_full,
)
from node.crypto.exceptions import ReplayedEnvelope

DB_NAME: Final = "replay.sqlite"
# Expired pairs are deleted at most this often, not on every envelope (a DELETE per call
# would double the cost of the check).
PURGE_EVERY_S: Final = 5.0
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS seen (
    sender TEXT NOT NULL, nonce BLOB NOT NULL, seen_at REAL NOT NULL,
    PRIMARY KEY (sender, nonce)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_at ON seen (seen_at);
"""


class PersistentReplayGuard(ReplayGuard):
    """``ReplayGuard`` backed by ``<state dir>/replay.sqlite``. Thread-safe.

    Parameters
    ----------
    state_dir
        The party's state folder (created if missing); the file is made owner-only (0600).
    window_s, max_entries
        As ``ReplayGuard``.

    Raises
    ------
    ValueError
        ``window_s`` or ``max_entries`` is not positive.
    sqlite3.Error
        The file cannot be created or is not a database (the party must not start without
        its replay memory).
    """

    def __init__(
        self,
        state_dir: Path | str,
        window_s: float = DEFAULT_WINDOW_S,
        max_entries: int = DEFAULT_MAX_ENTRIES,
    ) -> None:
        super().__init__(window_s, max_entries)
        folder = Path(state_dir)
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / DB_NAME
        self.path.touch(mode=0o600, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._db_lock = threading.Lock()
        self._purged = 0.0
        self._purge(time.time())

    @property
    def remembered(self) -> int:
        """How many (sender, nonce) pairs the file holds now."""
        with self._db_lock:
            return int(self._db.execute("SELECT COUNT(*) FROM seen").fetchone()[0])

    def _purge(self, moment: float) -> None:
        self._db.execute("DELETE FROM seen WHERE seen_at < ?", (moment - 2 * self.window_s,))
        self._count = int(self._db.execute("SELECT COUNT(*) FROM seen").fetchone()[0])
        self._purged = moment

    def _remember(self, sender: str, nonce: bytes, moment: float) -> None:
        with self._db_lock:
            if moment - self._purged > PURGE_EVERY_S or self._count >= self.max_entries:
                self._purge(moment)
            if self._count >= self.max_entries:
                held = self._db.execute(
                    "SELECT 1 FROM seen WHERE sender = ? AND nonce = ?", (sender, bytes(nonce))
                ).fetchone()
                raise ReplayedEnvelope(ALREADY_RECEIVED) if held else cache_full(self.max_entries)
            try:
                self._db.execute(
                    "INSERT INTO seen (sender, nonce, seen_at) VALUES (?, ?, ?)",
                    (sender, bytes(nonce), moment),
                )
            except sqlite3.IntegrityError:
                raise ReplayedEnvelope(ALREADY_RECEIVED) from None
            self._count += 1

    def close(self) -> None:
        """Close the database (the guard refuses to check afterwards)."""
        with self._db_lock:
            self._db.close()
