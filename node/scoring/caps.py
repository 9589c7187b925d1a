"""Daily caps a holder puts on scoring requests: per requesting bank and per firm.

Scoring is a query channel into a holder's data. A bank over its daily budget, or a firm
asked about more often in a day than lending needs, is refused and the refusal logged (and
handed to the abnormal-query monitor). Counts persist in SQLite so a restart does not reset
them; days are UTC calendar days.

A request is counted as a whole, not firm by firm: which firms are within both caps is a few
column operations over the request, and what is stored is one row per request (the firms it
admitted, as one blob) plus the bank's running total, so a chunk of 5,000 firms costs one
insert rather than 5,000 upserts. The day's per-firm counts are rebuilt from those rows when
the process starts or the day changes.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from node.state.db import open_state_db

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS counts (day TEXT, kind TEXT, key TEXT, n INTEGER,
                                   PRIMARY KEY (day, kind, key));
CREATE TABLE IF NOT EXISTS firm_requests (day TEXT NOT NULL, firms BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS firm_requests_day ON firm_requests (day);
"""
_SEP: Final = "\n"


def utc_day(at: float | None = None) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(time.time() if at is None else at))


def occurrence(firms: Sequence[str]) -> NDArray[np.int64]:
    """For each position, how many times its firm appeared earlier in ``firms``."""
    n = len(firms)
    if len(set(firms)) == n:
        return np.zeros(n, np.int64)
    _, inverse = np.unique(np.array(list(firms), dtype=str), return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    grouped = inverse[order]
    starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
    run = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
    out = np.empty(n, np.int64)
    out[order] = run
    return out


class DailyCaps:
    """Counts and enforces ``per_bank`` and ``per_firm`` requests per UTC day. Thread-safe."""

    def __init__(self, path: Path, per_bank: int, per_firm: int) -> None:
        self.per_bank = per_bank
        self.per_firm = per_firm
        self._db = open_state_db(path, _SCHEMA, "NORMAL")
        self._lock = threading.Lock()
        self._day = ""
        self._bank: dict[str, int] = {}
        self._firm: dict[str, int] = {}

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _roll(self, day: str) -> None:
        if day == self._day:
            return
        self._day = day
        self._bank, firm = {}, Counter[str]()
        for kind, key, n in self._db.execute(
            "SELECT kind, key, n FROM counts WHERE day = ?", (day,)
        ):
            if kind == "bank":
                self._bank[key] = int(n)
            else:  # per-firm rows written before requests were stored whole
                firm[key] += int(n)
        for (blob,) in self._db.execute("SELECT firms FROM firm_requests WHERE day = ?", (day,)):
            firm.update(bytes(blob).decode().split(_SEP))
        self._firm = dict(firm)
        # only today's counts are ever consulted
        self._db.execute("DELETE FROM firm_requests WHERE day < ?", (day,))

    def admit(self, bank: str, firms: Sequence[str], at: float | None = None) -> NDArray[np.bool_]:
        """Count a request for each firm (tokens, never holding a line break); return which
        were within both caps.

        Refused requests are not counted against the firm (a refusal reveals nothing and
        must not lock the firm out for honest banks), but they do count against the bank.
        Firms are taken in order: the bank's budget runs out part way through a request,
        and a firm named twice counts twice.
        """
        day = utc_day(at)
        n = len(firms)
        with self._lock:
            self._roll(day)
            used = self._bank.get(bank, 0)
            get = self._firm.get
            before = np.fromiter((get(f, 0) for f in firms), np.int64, n)
            after = before + occurrence(firms) + 1
            ok = (used + np.arange(1, n + 1) <= self.per_bank) & (after <= self.per_firm)
            picked = np.flatnonzero(ok).tolist()
            admitted = [firms[i] for i in picked]
            # in request order, so a firm named twice ends with its last (largest) count
            self._firm.update(zip(admitted, after[ok].tolist(), strict=True))
            self._bank[bank] = used + n
            self._db.execute("BEGIN")
            if admitted:
                self._db.execute(
                    "INSERT INTO firm_requests VALUES (?, ?)", (day, _SEP.join(admitted).encode())
                )
            self._db.execute(
                "INSERT INTO counts VALUES (?, 'bank', ?, ?) "
                "ON CONFLICT(day, kind, key) DO UPDATE SET n = excluded.n",
                (day, bank, used + n),
            )
            self._db.execute("COMMIT")
        return ok
