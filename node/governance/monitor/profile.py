"""What the monitor remembers about one principal: sliding windows and its own baseline.

Windows hold the last minute of calls and the last hour of small requests, so the rules can
count exactly. The baseline is the principal's history of *active hours* (hours in which it
did anything): for each, the log of its calls, rows, refusals, firms and distinct queries,
kept for ``baseline_days``; plus how its activity spreads over the hours of the day and how
large its releases usually are. The statistical detector compares the running hour with
that history; nothing is compared with other principals.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from node.governance.monitor.events import AccessEvent, EventKind

FEATURES: Final = ("calls", "rows", "denials", "firms", "queries")
HOUR: Final = 3600.0
DAY: Final = 86400.0
# A denial streak ends after this long without another refusal.
STREAK_GAP: Final = 600.0
_RELEASE_SIZES: Final = 500  # recent releases kept for the usual-size statistic


def _decrement(counter: Counter[str], key: str) -> None:
    if counter[key] <= 1:
        del counter[key]
    else:
        counter[key] -= 1


@dataclass
class HourTally:
    """The running counts of one clock hour."""

    start: float
    calls: int = 0
    rows: int = 0
    denials: int = 0
    firms: set[str] = field(default_factory=set)
    queries: set[str] = field(default_factory=set)

    def vector(self) -> np.ndarray:
        """log1p of the five features (the scale the baseline works on)."""
        values = (self.calls, self.rows, self.denials, len(self.firms), len(self.queries))
        logged: np.ndarray = np.log1p(np.asarray(values, dtype="float64"))
        return logged

    def value(self, feature: str) -> int:
        """The raw count of ``feature``."""
        counts = {
            "calls": self.calls,
            "rows": self.rows,
            "denials": self.denials,
            "firms": len(self.firms),
            "queries": len(self.queries),
        }
        return counts[feature]


class PrincipalProfile:
    """Windows and baseline of one principal. Not thread-safe (the monitor serializes)."""

    def __init__(self, principal: str, baseline_days: int) -> None:
        self.principal = principal
        self._keep = baseline_days * DAY
        self.calls: deque[float] = deque()
        self.small: deque[tuple[float, tuple[str, ...], str]] = deque()
        self.small_firms: Counter[str] = Counter()
        self.small_queries: Counter[str] = Counter()
        self.denial_streak = 0
        self._last_denial = -1e18
        self.hour: HourTally | None = None
        self._history: deque[tuple[float, np.ndarray]] = deque()
        self._stats: tuple[np.ndarray, np.ndarray] | None = None
        self.hour_days = np.zeros(24, dtype="float64")  # active days seen at each hour
        self._hour_last_day = np.full(24, -1, dtype=np.int64)
        self.active_days: set[int] = set()
        self.fields_seen: set[str] = set()
        self.release_sizes: deque[int] = deque(maxlen=_RELEASE_SIZES)

    # -- updating -------------------------------------------------------------------------

    def _roll_hour(self, t: float) -> None:
        start = t - t % HOUR
        if self.hour is not None and self.hour.start == start:
            return
        if self.hour is not None:
            self._history.append((self.hour.start, self.hour.vector()))
            self._stats = None
        while self._history and self._history[0][0] < t - self._keep:
            self._history.popleft()
            self._stats = None
        self.hour = HourTally(start)

    def _expire(self, t: float) -> None:
        while self.calls and self.calls[0] <= t - 60.0:
            self.calls.popleft()
        while self.small and self.small[0][0] <= t - HOUR:
            _, firms, query = self.small.popleft()
            for firm in firms:
                _decrement(self.small_firms, firm)
            if query:
                _decrement(self.small_queries, query)

    def add(self, event: AccessEvent, hour_of_day: int, small_rows: int) -> None:
        """Fold ``event`` into the windows, the running hour and the long-run profile."""
        t = event.time
        self._roll_hour(t)
        self._expire(t)
        tally = self.hour
        assert tally is not None
        day = int(t // DAY)
        self.active_days.add(day)
        if self._hour_last_day[hour_of_day] != day:
            self._hour_last_day[hour_of_day] = day
            self.hour_days[hour_of_day] += 1
        if event.kind is EventKind.CALL:
            self.calls.append(t)
            tally.calls += 1
        elif event.kind is EventKind.DENIAL:
            if event.contained:
                return
            if t - self._last_denial > STREAK_GAP:
                self.denial_streak = 0
            self.denial_streak += 1
            self._last_denial = t
            tally.denials += 1
        else:
            self.denial_streak = 0
            tally.rows += event.rows
            tally.firms.update(event.subjects)
            if event.query:
                tally.queries.add(event.query)
            if event.kind is EventKind.RELEASE:
                self.release_sizes.append(event.rows)
            # enumeration: firms scored without a basis, small releases by query
            if event.kind is EventKind.SCORE and not event.covered and event.subjects:
                self.small.append((t, event.subjects, ""))
                self.small_firms.update(event.subjects)
            elif event.kind is EventKind.RELEASE and event.rows <= small_rows and event.query:
                self.small.append((t, (), event.query))
                self.small_queries[event.query] += 1
        self.fields_seen.update(event.fields)

    # -- reading --------------------------------------------------------------------------

    @property
    def history_hours(self) -> int:
        """Active hours in the baseline."""
        return len(self._history)

    def baseline(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Per feature: median and scaled MAD of the active hours (log1p scale), or ``None``
        before there are 24 active hours."""
        if len(self._history) < 24:
            return None
        if self._stats is None:
            matrix = np.stack([v for _, v in self._history])
            median = np.median(matrix, axis=0)
            mad = 1.4826 * np.median(np.abs(matrix - median), axis=0)
            self._stats = (median, mad)
        return self._stats

    def hour_share(self, hour_of_day: int) -> float:
        """The share of this principal's active days on which it was active at this hour.

        Counted in days, not calls, so one burst at an odd hour does not make that hour usual.
        """
        return float(self.hour_days[hour_of_day] / max(1, len(self.active_days)))

    def usual_release(self) -> float:
        """The median of recent release sizes (0 before any release); a median, so a past
        burst of large releases does not raise it."""
        if not self.release_sizes:
            return 0.0
        return float(np.median(np.fromiter(self.release_sizes, dtype="float64")))
