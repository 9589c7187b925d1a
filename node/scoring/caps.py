"""Daily caps a holder puts on scoring requests: per requesting bank and per firm.

Scoring is a query channel into a holder's data. A bank over its daily budget, or a firm
asked about more often in a day than lending needs, is refused and the refusal logged (and
handed to the abnormal-query monitor). Counts persist in SQLite so a restart does not reset
them; days are UTC calendar days.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from node.state.db import open_state_db

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS counts (day TEXT, kind TEXT, key TEXT, n INTEGER,
                                   PRIMARY KEY (day, kind, key));
"""


def utc_day(at: float | None = None) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(time.time() if at is None else at))


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
        rows = self._db.execute("SELECT kind, key, n FROM counts WHERE day = ?", (day,))
        self._bank, self._firm = {}, {}
        for kind, key, n in rows:
            (self._bank if kind == "bank" else self._firm)[key] = int(n)

    def admit(self, bank: str, firms: Sequence[str], at: float | None = None) -> NDArray[np.bool_]:
        """Count a request for each firm (tokens); return which were within both caps.

        Refused requests are not counted against the firm (a refusal reveals nothing and
        must not lock the firm out for honest banks), but they do count against the bank.
        """
        day = utc_day(at)
        ok = np.zeros(len(firms), np.bool_)
        with self._lock:
            self._roll(day)
            used = self._bank.get(bank, 0)
            touched: dict[str, int] = {}
            for i, firm in enumerate(firms):
                used += 1
                count = self._firm.get(firm, 0)
                if used <= self.per_bank and count < self.per_firm:
                    self._firm[firm] = touched[firm] = count + 1
                    ok[i] = True
            self._bank[bank] = used
            rows = [(day, "firm", f, n) for f, n in touched.items()]
            rows.append((day, "bank", bank, used))
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO counts VALUES (?, ?, ?, ?) "
                "ON CONFLICT(day, kind, key) DO UPDATE SET n = excluded.n",
                rows,
            )
            self._db.execute("COMMIT")
        return ok
