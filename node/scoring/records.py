"""Decision records at the bank: every input a decision used, so it can be replayed.

A record keeps the application (reference, amount, term, the firm as the bank's own token),
the bank's feature values (the bank's own data), each holder's answer (partial score, coded
reasons and flags, the version that answered, or the gap), the model and decision-policy
versions, and the outcome. Decision-policy texts are kept by version beside the records. No
record holds a unified social credit code or a partner's feature value.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from node.scoring.exceptions import ScoringError
from node.state.db import open_state_db

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS decisions (
    record_id TEXT PRIMARY KEY,
    time REAL NOT NULL,
    application_ref TEXT NOT NULL,
    firm TEXT NOT NULL,
    decision TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_ref ON decisions (application_ref);
CREATE TABLE IF NOT EXISTS decision_policies (version TEXT PRIMARY KEY, text TEXT NOT NULL);
"""


def new_record_id() -> str:
    return "dec-" + uuid.uuid4().hex[:20]


class DecisionRecords:
    """The bank's decision records (SQLite in the node's state folder). Thread-safe."""

    def __init__(self, path: Path) -> None:
        # NORMAL in WAL mode: a commit is not fsynced on its own (the next checkpoint syncs
        # it), so a decision does not wait for the disk twice. A process crash loses nothing;
        # a power loss can lose the last decisions' records, never their access-log entries
        # (durable before the answer leaves), which name the record ids: a lost record is
        # detectable, and it is recomputable from the log's inputs only in part (the bank's
        # features and the holders' answers are not in the log), which we accept for speed.
        self._db = open_state_db(path, _SCHEMA, "NORMAL")
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def keep_policy(self, version: str, text: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO decision_policies VALUES (?, ?)", (version, text)
            )

    def policy_text(self, version: str) -> str:
        """Raises ``ScoringError`` if that policy version was never used here."""
        with self._lock:
            row = self._db.execute(
                "SELECT text FROM decision_policies WHERE version = ?", (version,)
            ).fetchone()
        if row is None:
            raise ScoringError(f"decision policy {version[:12]}... is not kept at this node")
        return str(row[0])

    def add_many(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Store records (each with record_id, time, application_ref, firm, outcome)."""
        rows = [
            (
                r["record_id"],
                r["time"],
                r["application_ref"],
                r["firm"],
                r["outcome"]["decision"],
                json.dumps(r, separators=(",", ":")),
            )
            for r in records
        ]
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT INTO decisions VALUES (?, ?, ?, ?, ?, ?)", rows)
            self._db.execute("COMMIT")

    def get(self, record_id: str) -> dict[str, Any]:
        """Raises ``ScoringError`` when no such record is kept."""
        with self._lock:
            row = self._db.execute(
                "SELECT body FROM decisions WHERE record_id = ?", (record_id,)
            ).fetchone()
        if row is None:
            raise ScoringError(
                f"no decision record {record_id!r} here; list them with `fedcredit decide list`"
            )
        body: dict[str, Any] = json.loads(row[0])
        return body

    def latest(self, limit: int = 20) -> Iterator[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT body FROM decisions ORDER BY time DESC LIMIT ?", (limit,)
            ).fetchall()
        for (body,) in rows:
            yield json.loads(body)
