"""Watch-list levels over refreshes: step up at once, step down only after a steady spell.

A borrower whose assessed level rises moves up at the refresh that saw it. One whose level
falls stays where it is until it has been assessed lower for ``release_after`` refreshes in a
row, so a borrower does not flap on and off the list with monthly noise. While a holder's feed
is unhealthy nobody steps down (``hold``): missing data never quietly lowers a warning.
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
) -> Step:
    """Advance every borrower by one refresh (arrays aligned with the book).

    ``current`` is -1 for a borrower seen for the first time (it takes the assessed level).
    ``hold`` (per borrower or for all) freezes step-downs for this refresh.
    """
    current = np.asarray(current, dtype=np.int8)
    assessed = np.asarray(assessed, dtype=np.int8)
    below = np.asarray(below, dtype=np.int16)
    held = np.broadcast_to(np.asarray(hold, dtype=np.bool_), current.shape)
    up = assessed >= current
    calm = np.where(up, 0, np.where(held, below, below + 1)).astype(np.int16)
    release = ~up & ~held & (calm >= release_after)
    level = np.where(up | release, assessed, current).astype(np.int8)
    calm = np.where(release, 0, calm).astype(np.int16)
    return Step(level, calm, level != current)
