"""Early-warning signals a holder computes from its own panel, locally, as of a month.

Each monthly figure is one of three kinds, and each kind gives a fixed set of signals named
``<figure>__<signal>`` (so a signal always names the figure it comes from, which is what the
masking policy is asked about):

amount (tax paid, headcount, power, invoices, flows), on ``log1p`` of the figure:
    ``lvl`` the month's level; ``mean12m`` the mean level over 12 months (a firm's standing,
    free of one month's noise); ``chg3m`` the last 3 months' mean against the 3 before;
    ``chg6m`` the last 6 against the 6 before; ``yoy3m`` the last 3 against the same 3 a year
    earlier (free of seasons); ``slope6m``, ``slope12m`` the least-squares trend per month over
    6 and 12 months (a steady decline that no two adjacent quarters show); ``dd12m`` the last
    3 months' mean against the best 3 months of the year (how far below its own recent peak
    the firm is); ``vol6m`` the spread of month-to-month changes over 6 months;
    ``down_streak`` consecutive monthly declines up to the month; ``zero3m``, ``zero12m``
    months at zero among the last 3 and 12 (unpaid tax, no invoices).
ratio (one figure per unit of another of the same holder, ``tax_paid_per_ss_headcount``; see
    ``with_ratios``): the same signals on the log of the ratio, without the zero counts. A
    ratio is free of the firm's size, which a level of an amount is not: tax per employee or
    outflow per unit of inflow say how a firm is doing, tax alone mostly how big it is.
count (new court cases): ``sum3m``, ``sum6m``, ``sum12m``.
days (days past due): ``now``, ``max3m``, ``months6m`` (months overdue among the last 6),
    ``max12m``, ``months12m``.

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

KINDS: Final = ("amount", "ratio", "count", "days")
_TREND: Final = ("lvl", "mean12m", "chg3m", "chg6m", "yoy3m", "slope6m", "slope12m", "dd12m",
                 "vol6m", "down_streak")  # fmt: skip
STATS: Final[dict[str, tuple[str, ...]]] = {
    "amount": (*_TREND, "zero3m", "zero12m"),
    "ratio": _TREND,
    "count": ("sum3m", "sum6m", "sum12m"),
    "days": ("now", "max3m", "months6m", "max12m", "months12m"),
}
SEPARATOR: Final = "__"
RATIO: Final = "_per_"
# Months of history the longest window reads (yoy3m: this quarter and the one a year before).
HISTORY: Final = 15


def signal_names(kinds: Mapping[str, str]) -> list[str]:
    """Every signal of the figures ``kinds`` (figure -> kind), in a fixed order."""
    return [f"{col}{SEPARATOR}{stat}" for col, kind in kinds.items() for stat in STATS[kind]]


def source_figure(signal: str) -> str:
    """The figure a signal is computed from (``tax_paid__chg3m`` -> ``tax_paid``; a ratio's
    is the derived figure, ``tax_paid_per_ss_headcount``)."""
    return signal.split(SEPARATOR, 1)[0]


def ratio_name(numerator: str, denominator: str) -> str:
    return f"{numerator}{RATIO}{denominator}"


def panel_figures(signal: str, ratios: Mapping[str, tuple[str, str]]) -> tuple[str, ...]:
    """The panel figures a signal reads: its own, or both of a ratio's (what the masking
    policy is asked about)."""
    figure = source_figure(signal)
    return ratios.get(figure, (figure,))


def with_ratios(cube: PanelCube, ratios: Mapping[str, tuple[str, str]]) -> PanelCube:
    """``cube`` with each ratio (name -> (numerator, denominator)) as a figure of its own,
    NaN where either figure is missing or not positive (a ratio of nothing says nothing).

    Raises
    ------
    PanelError
        A ratio names a figure the panel lacks.
    """
    if not ratios:
        return cube
    values = dict(cube.values)
    for name, (top, bottom) in ratios.items():
        for figure in (top, bottom):
            if figure not in cube.values:
                raise PanelError(f"ratio {name!r}: the panel has no figure {figure!r}")
        a, b = cube.values[top], cube.values[bottom]
        with np.errstate(divide="ignore", invalid="ignore"):
            values[name] = np.where((a > 0) & (b > 0), a / b, np.nan)
    return PanelCube(cube.codes, cube.first_month, values)


def _window(a: NDArray[np.float64], t: int, length: int) -> NDArray[np.float64]:
    """Columns ``t-length+1 .. t`` of ``a``, NaN where they fall outside the panel."""
    out = np.full((a.shape[0], length), np.nan)
    lo, hi = max(t - length + 1, 0), min(t, a.shape[1] - 1)
    if lo <= hi:
        out[:, lo - (t - length + 1) : hi - (t - length + 1) + 1] = a[:, lo : hi + 1]
    return out


def _slope(log: NDArray[np.float64], k: int) -> NDArray[np.float64]:
    """Least-squares trend per month of the last ``k`` columns, skipping missing months
    (NaN with fewer than 3 months seen)."""
    y = log[:, -k:]
    seen = ~np.isnan(y)
    x = np.broadcast_to(np.arange(k, dtype=np.float64), y.shape)
    n = seen.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        xm = np.where(seen, x, 0.0).sum(1) / n
        ym = np.where(seen, y, 0.0).sum(1) / n
        dx = np.where(seen, x - xm[:, None], 0.0)
        dy = np.where(seen, y - ym[:, None], 0.0)
        out = (dx * dy).sum(1) / (dx * dx).sum(1)
    return np.where(n >= 3, out, np.nan)


def _trend(log: NDArray[np.float64]) -> dict[str, NDArray[np.float64]]:
    """The level, change and trend signals of a log series over its 15-month window."""
    last3, prev3 = np.nanmean(log[:, -3:], 1), np.nanmean(log[:, -6:-3], 1)
    last6, prev6 = np.nanmean(log[:, -6:], 1), np.nanmean(log[:, -12:-6], 1)
    year_ago = np.nanmean(log[:, :3], 1)
    quarters = np.stack([np.nanmean(log[:, -k - 3 : log.shape[1] - k], 1) for k in range(10)], 1)
    steps = np.diff(log[:, -7:], axis=1)
    down = np.nan_to_num(steps, nan=0.0) < 0
    streak = np.cumprod(down[:, ::-1], axis=1).sum(1).astype(np.float64)
    return {
        "lvl": log[:, -1],
        "mean12m": np.nanmean(log[:, -12:], 1),
        "chg3m": last3 - prev3,
        "chg6m": last6 - prev6,
        "yoy3m": last3 - year_ago,
        "slope6m": _slope(log, 6),
        "slope12m": _slope(log, 12),
        "dd12m": last3 - np.nanmax(quarters, 1),
        "vol6m": np.nanstd(steps, 1),
        "down_streak": streak,
    }


def _amount(w: NDArray[np.float64]) -> dict[str, NDArray[np.float64]]:
    """Signals of one amount over its 15-month window ``w`` (last column = the month)."""
    out = _trend(np.log1p(np.maximum(w, 0.0)))
    for name, k in (("zero3m", 3), ("zero12m", 12)):
        recent = w[:, -k:]
        out[name] = np.where(np.isnan(recent), 0.0, (recent <= 0).astype(np.float64)).sum(1)
    return out


def _ratio(w: NDArray[np.float64]) -> dict[str, NDArray[np.float64]]:
    """Signals of one ratio (positive or NaN) over its window, on its log."""
    return _trend(np.log(w))


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
        "max12m": np.where(seen[:, -12:].any(1), days[:, -12:].max(1), np.nan),
        "months12m": np.where(seen[:, -12:].any(1), (days[:, -12:] > 0).sum(1), np.nan),
    }


_BY_KIND = {"amount": _amount, "ratio": _ratio, "count": _count, "days": _days}


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
