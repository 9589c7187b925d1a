"""Decision records at the bank: every input a decision used, so it can be replayed.

A call's decisions are stored together, as columns (``node.scoring.columns``): one row per
call (a single ``Decide`` or a chunk of a book), not one JSON document per firm. The row keeps
the applications (references, amounts, terms, each firm as the bank's own token), the bank's
feature values (the bank's own data), each holder's answer exactly as it came (partial scores
and coded reasons, or split directions; flags; the version that answered; or the gap), the
model and decision-policy versions, and the outcomes. A record id names its call and its row
(``dec-<call>-<row>``). Decision-policy texts are kept by version beside the records. No
record holds a unified social credit code or a partner's feature value.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from node.scoring import columns
from node.scoring.answers import Answer
from node.scoring.engine import Outcomes
from node.scoring.exceptions import ScoringError
from node.state.db import open_state_db

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS decision_calls (
    call TEXT PRIMARY KEY,
    time REAL NOT NULL,
    size INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS decision_calls_time ON decision_calls (time);
CREATE TABLE IF NOT EXISTS decision_policies (version TEXT PRIMARY KEY, text TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS decision_policy_in_force (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    version TEXT NOT NULL
);
"""
# Records of the first format (one JSON document per decision) are still read.
_LEGACY: Final = "decisions"


def new_call_id() -> str:
    return secrets.token_hex(8)


@dataclass(frozen=True)
class CallRecord:
    """One call's stored decisions: header (scalars, lists) and columns (one row per firm)."""

    call: str
    header: Mapping[str, Any]
    arrays: Mapping[str, NDArray[Any]]

    def __len__(self) -> int:
        return len(self.header["refs"])

    def row(self, i: int) -> CallRecord:
        """The record of decision ``i`` alone (every column cut to that row)."""
        head = dict(self.header)
        head["refs"] = [self.header["refs"][i]]
        head["firms"] = [self.header["firms"][i]]
        head["row"] = i
        return CallRecord(self.call, head, {k: v[i : i + 1] for k, v in self.arrays.items()})

    def answers(self) -> dict[str, Answer | str]:
        """Each holder's answer as it came, or the name of its gap."""
        out: dict[str, Answer | str] = {}
        for k, h in enumerate(self.header["holders"]):
            if "gap" in h:
                out[h["party"]] = str(h["gap"])
            else:
                prefix = f"h{k}."
                cols = {n[len(prefix) :]: a for n, a in self.arrays.items() if n.startswith(prefix)}
                out[h["party"]] = Answer(h["answer"], cols)
        return out

    def outcomes(self) -> Outcomes:
        found = {n[2:]: a for n, a in self.arrays.items() if n.startswith("o.")}
        return Outcomes.from_columns(self.header["outcome"], found)

    def view(self) -> dict[str, Any]:
        """The first row as one readable document (what ``get`` gives the console and CLI):
        the application, the bank's features, each holder's answer and the outcome."""
        head, arrays = self.header, self.arrays
        holders = []
        for party, answer in self.answers().items():
            if isinstance(answer, str):
                holders.append({"party": party, "status": answer, "reasons": [], "flags": []})
            elif answer.kind == "logistic":
                holders.append(answer.replies(party).row(0).to_dict())
            else:  # trees: the holder sent directions; its credits are the bank's walk
                row = answer.common(party, np.zeros(len(answer))).row(0).to_dict()
                holders.append(row)
        return {
            "record_id": f"dec-{self.call}-{head.get('row', 0)}",
            "time": head.get("time", 0.0),
            "application_ref": head["refs"][0],
            "firm": head["firms"][0],
            "amount": float(arrays["amounts"][0]),
            "term_months": int(arrays["terms"][0]),
            "policy_version": head["policy_version"],
            "bank_version": head["bank_version"],
            "bank_features": {
                n: (None if v != v else float(v))
                for n, v in zip(head["features"], arrays["values"][0].tolist(), strict=True)
            },
            "holders": holders,
            "outcome": self.outcomes()[0].to_dict(),
        }


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

    def policy_in_force(self) -> str | None:
        """The version of the decision policy put in force last (its change recorded in the
        access log: ``node.scoring.policy_in_force``), or None before the first."""
        with self._lock:
            row = self._db.execute("SELECT version FROM decision_policy_in_force").fetchone()
        return None if row is None else str(row[0])

    def put_policy_in_force(self, version: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO decision_policy_in_force VALUES (1, ?) "
                "ON CONFLICT(one) DO UPDATE SET version = excluded.version",
                (version,),
            )

    def add(self, record: CallRecord, time: float) -> None:
        """Store one call's decisions (header must hold ``refs``, one per row)."""
        body = columns.pack(record.header, record.arrays)
        with self._lock:
            self._db.execute(
                "INSERT INTO decision_calls VALUES (?, ?, ?, ?)",
                (record.call, time, len(record), body),
            )

    def _call(self, call: str) -> CallRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT time, body FROM decision_calls WHERE call = ?", (call,)
            ).fetchone()
        if row is None:
            return None
        header, arrays = columns.unpack(bytes(row[1]))
        return CallRecord(call, {**header, "time": float(row[0])}, arrays)

    def get(self, record_id: str) -> dict[str, Any]:
        """One decision's record as a readable document (``CallRecord.view``).

        Raises
        ------
        ScoringError
            No such record is kept.
        """
        found = self.find(record_id)
        return found.view() if isinstance(found, CallRecord) else found

    def find(self, record_id: str) -> CallRecord | dict[str, Any]:
        """The record of one decision: its call's columns cut to its row (or, for a record
        of the first format, its JSON document).

        Raises
        ------
        ScoringError
            No such record is kept.
        """
        _, call, row = record_id.split("-", 2) if record_id.count("-") >= 2 else ("", "", "")
        found = self._call(call) if call else None
        if found is not None and row.isdigit() and int(row) < len(found):
            return found.row(int(row))
        legacy = self._legacy(record_id)
        if legacy is None:
            raise ScoringError(
                f"no decision record {record_id!r} here; list them with `fedcredit decide list`"
            )
        return legacy

    def _legacy(self, record_id: str) -> dict[str, Any] | None:
        with self._lock:
            exists = self._db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (_LEGACY,)
            ).fetchone()
            row = (
                self._db.execute(
                    f"SELECT body FROM {_LEGACY} WHERE record_id = ?", (record_id,)
                ).fetchone()
                if exists
                else None
            )
        return None if row is None else dict(json.loads(row[0]))

    def latest(self, limit: int = 20) -> Iterator[dict[str, Any]]:
        """The newest decisions' documents (``CallRecord.view``), newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT call, time, body FROM decision_calls ORDER BY time DESC LIMIT ?",
                (limit,),
            ).fetchall()
        given = 0
        for call, at, body in rows:
            header, arrays = columns.unpack(bytes(body))
            record = CallRecord(call, {**header, "time": at}, arrays)
            for i in range(len(record) - 1, -1, -1):
                if given == limit:
                    return
                given += 1
                yield record.row(i).view()
