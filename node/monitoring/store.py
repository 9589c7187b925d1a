"""The bank's monitoring state: watch list, alerts and their workflow, refreshes, references.

One SQLite file in the bank node's state folder (``monitoring/watch.sqlite``). Borrowers are
keyed by the bank's own firm token, never the code; the watch list holds levels, coded
reasons and the model's PD (the bank's own output), never a partner's value. An alert's
workflow history is append-only: every acknowledgement and action is a row with who and when.
The coded flags each refresh received are kept by month (``flag_history``): the bank's record
of what each flag foretold (``monitor review-flags``).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from node.monitoring.exceptions import UnknownAlert
from node.state.db import open_state_db

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS watch (
    firm TEXT PRIMARY KEY,          -- the bank's token of the borrower
    ref TEXT NOT NULL,              -- the bank's book reference
    level INTEGER NOT NULL,
    below INTEGER NOT NULL,         -- refreshes in a row assessed below the level
    reasons TEXT NOT NULL,          -- JSON list of codes
    pd REAL,
    origination_pd REAL,
    category INTEGER NOT NULL,
    since TEXT NOT NULL,            -- refresh month the level was reached
    as_of TEXT NOT NULL             -- month of the last refresh that saw the borrower
);
CREATE INDEX IF NOT EXISTS watch_level ON watch (level);
CREATE TABLE IF NOT EXISTS alerts (
    alert_id TEXT PRIMARY KEY,
    refresh_id TEXT NOT NULL,
    created REAL NOT NULL,
    kind TEXT NOT NULL,             -- level_change | data_quality | drift
    subject TEXT NOT NULL,          -- firm token, holder id or score/input name
    body TEXT NOT NULL,             -- JSON: what the sinks receive
    state TEXT NOT NULL,
    updated REAL NOT NULL,
    delivered TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS alerts_state ON alerts (state);
CREATE TABLE IF NOT EXISTS alert_history (
    alert_id TEXT NOT NULL,
    at REAL NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    state TEXT NOT NULL,
    note TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS refreshes (
    refresh_id TEXT PRIMARY KEY,
    as_of TEXT NOT NULL,
    started REAL NOT NULL,
    seconds REAL NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS references_ (name TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS policies (version TEXT PRIMARY KEY, text TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS flag_history (  -- the coded flags each refresh month received
    month TEXT NOT NULL,
    firm TEXT NOT NULL,
    code TEXT NOT NULL,
    PRIMARY KEY (month, firm, code)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS flag_months (month TEXT PRIMARY KEY);  -- months whose flags are kept
"""


@dataclass(frozen=True)
class WatchState:
    """The stored state of a book's borrowers, aligned with the tokens asked for."""

    level: NDArray[np.int8]  # -1: never seen
    below: NDArray[np.int16]
    origination_pd: NDArray[np.float64]  # NaN: never seen
    since: list[str]
    as_of: list[str]  # month of the last refresh that saw the borrower ("": never seen)


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


class MonitoringStore:
    """The bank's monitoring tables. Thread-safe."""

    def __init__(self, path: Path) -> None:
        self._db = open_state_db(path, _SCHEMA, "NORMAL")
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # watch list ------------------------------------------------------------------------

    def state(self, firms: Sequence[str]) -> WatchState:
        """Stored level, calm counter, origination PD and since-month of each borrower."""
        with self._lock:
            rows = self._db.execute(
                "SELECT firm, level, below, origination_pd, since, as_of FROM watch"
            ).fetchall()
        known = {r[0]: r for r in rows}
        n = len(firms)
        level = np.full(n, -1, np.int8)
        below = np.zeros(n, np.int16)
        origination = np.full(n, np.nan)
        since = [""] * n
        as_of = [""] * n
        for i, firm in enumerate(firms):
            row = known.get(firm)
            if row is not None:
                level[i], below[i] = row[1], row[2]
                origination[i] = np.nan if row[3] is None else row[3]
                since[i], as_of[i] = row[4], row[5]
        return WatchState(level, below, origination, since, as_of)

    def save_watch(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Upsert (firm, ref, level, below, reasons_json, pd, origination_pd, category, since,
        as_of) rows in one transaction."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT INTO watch VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(firm) "
                    "DO UPDATE SET ref=excluded.ref, level=excluded.level, "
                    "below=excluded.below, reasons=excluded.reasons, pd=excluded.pd, "
                    "origination_pd=excluded.origination_pd, category=excluded.category, "
                    "since=excluded.since, as_of=excluded.as_of",
                    rows,
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def watchlist(self, min_level: int = 1, limit: int = 1000) -> list[dict[str, Any]]:
        """Borrowers at ``min_level`` or above, most severe and highest PD first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT firm, ref, level, reasons, pd, category, since, as_of FROM watch "
                "WHERE level >= ? ORDER BY level DESC, pd DESC LIMIT ?",
                (min_level, limit),
            ).fetchall()
        return [
            {
                "firm": r[0],
                "ref": r[1],
                "level": int(r[2]),
                "reasons": json.loads(r[3]),
                "pd": r[4],
                "category": int(r[5]),
                "since": r[6],
                "as_of": r[7],
            }
            for r in rows
        ]

    def level_counts(self) -> dict[int, int]:
        with self._lock:
            rows = self._db.execute("SELECT level, COUNT(*) FROM watch GROUP BY level").fetchall()
        return {int(level): int(count) for level, count in rows}

    # alerts ----------------------------------------------------------------------------

    def add_alerts(self, alerts: Sequence[Mapping[str, Any]]) -> None:
        """Store new alerts (``alert_id``, ``refresh_id``, ``kind``, ``subject``, body) as open."""
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT INTO alerts VALUES (?, ?, ?, ?, ?, ?, 'open', ?, '[]')",
                    [
                        (
                            a["alert_id"],
                            a["refresh_id"],
                            now,
                            a["kind"],
                            a["subject"],
                            json.dumps(a, sort_keys=True),
                            now,
                        )
                        for a in alerts
                    ],
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def alert(self, alert_id: str) -> dict[str, Any]:
        """One alert with its state, deliveries and workflow history.

        Raises
        ------
        UnknownAlert
            No such alert.
        """
        with self._lock:
            row = self._db.execute(
                "SELECT body, state, delivered, created, updated FROM alerts WHERE alert_id = ?",
                (alert_id,),
            ).fetchone()
            history = self._db.execute(
                "SELECT at, actor, action, state, note FROM alert_history WHERE alert_id = ? "
                "ORDER BY rowid",
                (alert_id,),
            ).fetchall()
        if row is None:
            raise UnknownAlert(f"no alert {alert_id!r} at this bank; list them with monitor alerts")
        return {
            **json.loads(row[0]),
            "state": row[1],
            "delivered": json.loads(row[2]),
            "created": row[3],
            "updated": row[4],
            "history": [
                {"at": h[0], "actor": h[1], "action": h[2], "state": h[3], "note": h[4]}
                for h in history
            ],
        }

    def alerts(self, state: str = "", kind: str = "", limit: int = 1000) -> list[dict[str, Any]]:
        """Alerts newest first, optionally of one workflow state or kind."""
        where, params = ["1"], []
        if state:
            where.append("state = ?")
            params.append(state)
        if kind:
            where.append("kind = ?")
            params.append(kind)
        with self._lock:
            rows = self._db.execute(
                f"SELECT body, state, delivered, created FROM alerts WHERE {' AND '.join(where)} "
                "ORDER BY created DESC, rowid DESC LIMIT ?",
                (*params, limit),
            ).fetchall()
        return [
            {**json.loads(r[0]), "state": r[1], "delivered": json.loads(r[2]), "created": r[3]}
            for r in rows
        ]

    def undelivered(self, sink: str) -> Iterator[dict[str, Any]]:
        """Alerts not yet delivered to ``sink``, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT body, delivered FROM alerts ORDER BY created, rowid"
            ).fetchall()
        for body, delivered in rows:
            if sink not in json.loads(delivered):
                yield json.loads(body)

    def mark_delivered(self, alert_ids: Sequence[str], sink: str) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            for alert_id in alert_ids:
                (delivered,) = self._db.execute(
                    "SELECT delivered FROM alerts WHERE alert_id = ?", (alert_id,)
                ).fetchone()
                names = json.loads(delivered)
                if sink not in names:
                    self._db.execute(
                        "UPDATE alerts SET delivered = ? WHERE alert_id = ?",
                        (json.dumps([*names, sink]), alert_id),
                    )
            self._db.execute("COMMIT")

    def transition(self, alert_id: str, actor: str, action: str, state: str, note: str) -> None:
        """Move an alert to ``state`` and append the step to its history (one transaction)."""
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(
                "UPDATE alerts SET state = ?, updated = ? WHERE alert_id = ?",
                (state, now, alert_id),
            )
            self._db.execute(
                "INSERT INTO alert_history VALUES (?, ?, ?, ?, ?, ?)",
                (alert_id, now, actor, action, state, note),
            )
            self._db.execute("COMMIT")

    # refreshes, references, policies ---------------------------------------------------

    def add_refresh(self, refresh_id: str, as_of: str, started: float, seconds: float,
                    body: Mapping[str, Any]) -> None:  # fmt: skip
        with self._lock:
            self._db.execute(
                "INSERT INTO refreshes VALUES (?, ?, ?, ?, ?)",
                (refresh_id, as_of, started, seconds, json.dumps(body, sort_keys=True)),
            )

    def refreshes(self, limit: int = 20) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT refresh_id, as_of, started, seconds, body FROM refreshes "
                "ORDER BY started DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [
            {
                "refresh_id": r[0],
                "as_of": r[1],
                "started": r[2],
                "seconds": r[3],
                **json.loads(r[4]),
            }
            for r in rows
        ]

    def reference(self, name: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT body FROM references_ WHERE name = ?", (name,)
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def set_reference(self, name: str, body: Mapping[str, Any]) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO references_ VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET body = ?",
                (name, json.dumps(body), json.dumps(body)),
            )

    # flag history (each flag's track record: node.monitoring.flag_record) ------------------

    def record_flags(
        self, month: str, firms: Sequence[str], flags: Sequence[Sequence[str]]
    ) -> None:
        """Keep the coded flags of a refresh of ``month`` (``flags`` aligned with ``firms``).
        A refresh of the same month again adds what it newly received and removes nothing."""
        rows = [(month, firm, code) for firm, codes in zip(firms, flags, strict=True)
                for code in set(codes)]  # fmt: skip
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("INSERT OR IGNORE INTO flag_months VALUES (?)", (month,))
                self._db.executemany("INSERT OR IGNORE INTO flag_history VALUES (?, ?, ?)", rows)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def flag_history(self) -> tuple[list[str], list[tuple[str, str, str]]]:
        """The months whose flags are kept, oldest first, and every (firm, month, code)."""
        with self._lock:
            months = [
                r[0] for r in self._db.execute("SELECT month FROM flag_months ORDER BY month")
            ]
            rows = self._db.execute("SELECT firm, month, code FROM flag_history").fetchall()
        return months, [(str(f), str(m), str(c)) for f, m, c in rows]

    def keep_policy(self, version: str, text: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO policies VALUES (?, ?)", (version, text))

    def kept_policy(self, prefix: str) -> str | None:
        """The text of the kept policy whose version starts with ``prefix`` (a refresh names
        the first 16 characters), or None."""
        if not prefix:
            return None
        with self._lock:
            row = self._db.execute(
                "SELECT text FROM policies WHERE substr(version, 1, ?) = ? LIMIT 1",
                (len(prefix), prefix),
            ).fetchone()
        return str(row[0]) if row else None
