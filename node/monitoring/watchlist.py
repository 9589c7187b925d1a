"""Watch-list levels over refreshes: step up at once, step down only after a steady spell.

A borrower whose assessed level rises moves up at the refresh that saw it. One whose level
falls stays where it is until it has been assessed lower for ``release_after`` months in a
row, so a borrower does not flap on and off the list with monthly noise. Months, not
refreshes: a holder's new panel or a manual run refreshes the same month again, and three such
refreshes in a day are not three calm months (``fresh`` marks the borrowers a refresh sees in
a month newer than their last). While a holder's feed is unhealthy nobody steps down
(``hold``): missing data never quietly lowers a warning.

The list has a capacity (``cap``): a bank can inspect only so many borrowers a month, and a
list that grows with every noisy month stops being read. Borrowers listed by a hard rule
(overdue backstop, classification, a holder's flag but those the policy names soft) always
stay; the model's entries fill the rest, riskiest first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class Step:
    """Levels and calm-refresh counters after one refresh, and who changed level."""

    level: NDArray[np.int8]
    below: NDArray[np.int16]
    changed: NDArray[np.bool_]


def step(
    current: NDArray[np.int8],
    below: NDArray[np.int16],
    assessed: NDArray[np.int8],
    release_after: int,
    hold: NDArray[np.bool_] | bool = False,
    fresh: NDArray[np.bool_] | bool = True,
) -> Step:
    """Advance every borrower by one refresh (arrays aligned with the book).

    ``current`` is -1 for a borrower seen for the first time (it takes the assessed level).
    ``hold`` (per borrower or for all) freezes step-downs for this refresh. ``fresh`` (per
    borrower or for all) says the refresh is of a newer month than the borrower's last: only
    then does a lower assessment count towards ``release_after``.
    """
    current = np.asarray(current, dtype=np.int8)
    assessed = np.asarray(assessed, dtype=np.int8)
    below = np.asarray(below, dtype=np.int16)
    held = np.broadcast_to(np.asarray(hold, dtype=np.bool_), current.shape)
    counts = np.broadcast_to(np.asarray(fresh, dtype=np.bool_), current.shape) & ~held
    up = assessed >= current
    calm = np.where(up, 0, np.where(counts, below + 1, below)).astype(np.int16)
    release = ~up & ~held & (calm >= release_after)
    level = np.where(up | release, assessed, current).astype(np.int8)
    calm = np.where(release, 0, calm).astype(np.int16)
    return Step(level, calm, level != current)


def cap(
    level: NDArray[np.int8],
    hard: NDArray[np.int8],
    pd: NDArray[np.float64],
    capacity: float,
    alive: NDArray[np.bool_] | None = None,
) -> NDArray[np.bool_]:
    """Who drops off a list longer than ``capacity`` (a share of the live book).

    Only borrowers no hard rule lists (``hard`` green: the model's and soft flags' entries)
    can drop, lowest PD first, until the list fits or only hard entries are left. ``alive``
    (default: everyone) marks the borrowers the capacity is a share of. Returns the mask of
    borrowers to set green.
    """
    level = np.asarray(level)
    live = np.ones(level.shape, np.bool_) if alive is None else np.asarray(alive, np.bool_)
    listed = (level >= 1) & live
    room = int(np.floor(capacity * live.sum()))
    excess = int(listed.sum()) - room
    drop = np.zeros(level.shape, np.bool_)
    if excess <= 0:
        return drop
    soft = np.flatnonzero(listed & (np.asarray(hard) < 1))
    order = soft[np.argsort(np.nan_to_num(np.asarray(pd)[soft], nan=0.0), kind="stable")]
    drop[order[:excess]] = True
    return drop


def advance(
    current: NDArray[np.int8],
    below: NDArray[np.int16],
    assessed: NDArray[np.int8],
    hard: NDArray[np.int8],
    pd: NDArray[np.float64],
    *,
    release_after: int,
    capacity: float,
    hold: NDArray[np.bool_] | bool = False,
    fresh: NDArray[np.bool_] | bool = True,
    alive: NDArray[np.bool_] | None = None,
) -> Step:
    """One refresh of the whole list: ``step``, then ``cap`` (a dropped borrower is green)."""
    start = np.asarray(current, dtype=np.int8)
    stepped = step(start, below, assessed, release_after, hold, fresh)
    drop = cap(stepped.level, hard, pd, capacity, alive)
    level = np.where(drop, 0, stepped.level).astype(np.int8)
    calm = np.where(drop, 0, stepped.below).astype(np.int16)
    return Step(level, calm, level != start)
