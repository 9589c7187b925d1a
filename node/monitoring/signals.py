"""Early-warning signals a holder computes from its own panel, locally, as of a month.

Each monthly figure is one of three kinds, and each kind gives a fixed set of signals named
``<figure>__<signal>`` (so a signal always names the figure it comes from, which is what the
masking policy is asked about):

amount (tax paid, headcount, power, invoices, flows), on ``log1p`` of the figure:
    ``lvl`` the month's level; ``chg3m`` the last 3 months' mean against the 3 before;
    ``chg6m`` the last 6 against the 6 before; ``yoy3m`` the last 3 against the same 3 a year
    earlier (free of seasons); ``vol6m`` the spread of month-to-month changes over 6 months;
    ``down_streak`` consecutive monthly declines up to the month; ``zero3m`` months at zero
    among the last 3 (unpaid tax, no invoices).
count (new court cases): ``sum3m``, ``sum6m``, ``sum12m``.
days (days past due): ``now``, ``max3m``, ``months6m`` (months overdue among the last 6).

Months without a record are skipped (NaN-aware means); a signal whose window holds no
record is NaN, which the model part fills with its training median. Only the month and the
months before it are read: a refresh never looks ahead.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from node.monitoring.exceptions import PanelError
from node.monitoring.panel import PanelCube, month_number

KINDS: Final = ("amount", "count", "days")
STATS: Final[dict[str, tuple[str, ...]]] = {
    "amount": ("lvl", "chg3m", "chg6m", "yoy3m", "vol6m", "down_streak", "zero3m"),
    "count": ("sum3m", "sum6m", "sum12m"),
    "days": ("now", "max3m", "months6m"),
}
SEPARATOR: Final = "__"
# Months of history the longest window reads (yoy3m: this quarter and the one a year before).
HISTORY: Final = 15


def signal_names(kinds: Mapping[str, str]) -> list[str]:
    """Every signal of the figures ``kinds`` (figure -> kind), in a fixed order."""
    return [f"{col}{SEPARATOR}{stat}" for col, kind in kinds.items() for stat in STATS[kind]]


def source_figure(signal: str) -> str:
    """The panel figure a signal is computed from (``tax_paid__chg3m`` -> ``tax_paid``)."""
    return signal.split(SEPARATOR, 1)[0]


def _window(a: NDArray[np.float64], t: int, length: int) -> NDArray[np.float64]:
    """Columns ``t-length+1 .. t`` of ``a``, NaN where they fall outside the panel."""
    out = np.full((a.shape[0], length), np.nan)
    lo, hi = max(t - length + 1, 0), min(t, a.shape[1] - 1)
    if lo <= hi:
        out[:, lo - (t - length + 1) : hi - (t - length + 1) + 1] = a[:, lo : hi + 1]
    return out


def _amount(w: NDArray[np.float64]) -> dict[str, NDArray[np.float64]]:
    """Signals of one amount over its 15-month window ``w`` (last column = the month)."""
    log = np.log1p(np.maximum(w, 0.0))
    last3, prev3 = np.nanmean(log[:, -3:], 1), np.nanmean(log[:, -6:-3], 1)
    last6, prev6 = np.nanmean(log[:, -6:], 1), np.nanmean(log[:, -12:-6], 1)
    year_ago = np.nanmean(log[:, :3], 1)
    steps = np.diff(log[:, -7:], axis=1)
    down = np.nan_to_num(steps, nan=0.0) < 0
    streak = np.cumprod(down[:, ::-1], axis=1).sum(1).astype(np.float64)
    recent = w[:, -3:]
    zero = np.where(np.isnan(recent), 0.0, (recent <= 0).astype(np.float64)).sum(1)
    return {
        "lvl": log[:, -1],
        "chg3m": last3 - prev3,
        "chg6m": last6 - prev6,
        "yoy3m": last3 - year_ago,
        "vol6m": np.nanstd(steps, 1),
        "down_streak": streak,
        "zero3m": zero,
    }


def _count(w: NDArray[np.float64]) -> dict[str, NDArray[np.float64]]:
    seen = ~np.isnan(w)
    total = np.nan_to_num(w, nan=0.0)
    out = {}
    for name, k in (("sum3m", 3), ("sum6m", 6), ("sum12m", 12)):
        value = total[:, -k:].sum(1)
        out[name] = np.where(seen[:, -k:].any(1), value, np.nan)
    return out


def _days(w: NDArray[np.float64]) -> dict[str, NDArray[np.float64]]:
    seen = ~np.isnan(w)
    days = np.nan_to_num(w, nan=0.0)
    return {
        "now": w[:, -1],
        "max3m": np.where(seen[:, -3:].any(1), days[:, -3:].max(1), np.nan),
        "months6m": np.where(seen[:, -6:].any(1), (days[:, -6:] > 0).sum(1), np.nan),
    }


_BY_KIND = {"amount": _amount, "count": _count, "days": _days}


def compute_signals(
    cube: PanelCube, rows: Sequence[int] | NDArray[np.int64], month: str, kinds: Mapping[str, str]
) -> pd.DataFrame:
    """Signals of the firms at ``rows`` of ``cube`` as of ``month`` (one frame row each).

    A row of -1 (a firm the panel does not hold) is all NaN. A month after the panel's last
    is computed as if its missing months had no record (the feed is stale; see ``feed``).

    Raises
    ------
    PanelError
        A figure is not in the panel, a kind is unknown, or ``month`` precedes the panel.
    """
    rows = np.asarray(rows, dtype=np.int64)
    cube.column_of(month)  # refuses a month before the panel
    t = month_number(month) - cube.first_month
    held = rows >= 0
    columns: dict[str, NDArray[np.float64]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows give NaN, on purpose
        for figure, kind in kinds.items():
            if kind not in _BY_KIND:
                raise PanelError(f"figure {figure!r}: kind must be one of {', '.join(KINDS)}")
            if figure not in cube.values:
                raise PanelError(f"the panel has no figure {figure!r}")
            window = np.full((len(rows), HISTORY), np.nan)
            window[held] = _window(cube.values[figure][rows[held]], t, HISTORY)
            for stat, values in _BY_KIND[kind](window).items():
                columns[f"{figure}{SEPARATOR}{stat}"] = np.where(held, values, np.nan)
    return pd.DataFrame(columns)
