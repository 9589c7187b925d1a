"""A holder's monthly panel as firm x month arrays, built once and sliced at any month.

Panels arrive as long tables (one record per firm and month, ``key_columns: [month]``). Every
signal is a window over a firm's recent months, so the panel is pivoted once into one
``(firms, months)`` float array per figure, with NaN where a firm has no record that month;
a refresh then costs a few vectorised slices, whatever the book size.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from node.data.uscc import normalize
from node.monitoring.exceptions import PanelError

_MONTH: Final = re.compile(r"^(\d{4})-(\d{2})")


def month_key(value: str) -> str:
    """``YYYY-MM`` of a month written ``YYYY-MM`` or ``YYYY-MM-DD``.

    Raises
    ------
    PanelError
        The value is not a month.
    """
    match = _MONTH.match(str(value).strip())
    if match is None or not 1 <= int(match[2]) <= 12:
        raise PanelError(f"{value!r} is not a month; write YYYY-MM")
    return f"{match[1]}-{match[2]}"


def month_number(month: str) -> int:
    """Months since year 0 (so consecutive months differ by one)."""
    key = month_key(month)
    return int(key[:4]) * 12 + int(key[5:7]) - 1


def month_name(number: int) -> str:
    return f"{number // 12:04d}-{number % 12 + 1:02d}"


@dataclass(frozen=True)
class PanelCube:
    """One panel: firm codes (rows), consecutive months (columns), one array per figure."""

    codes: tuple[str, ...]
    first_month: int  # month_number of column 0
    values: dict[str, NDArray[np.float64]]

    @property
    def n_months(self) -> int:
        return next(iter(self.values.values())).shape[1] if self.values else 0

    @property
    def months(self) -> list[str]:
        return [month_name(self.first_month + i) for i in range(self.n_months)]

    @property
    def latest_month(self) -> str:
        return month_name(self.first_month + self.n_months - 1)

    def column_of(self, month: str) -> int:
        """The array column of ``month``, or -1 when the panel does not reach it.

        Raises
        ------
        PanelError
            ``month`` is before the panel's first month.
        """
        k = month_number(month) - self.first_month
        if k < 0:
            raise PanelError(f"month {month_key(month)} is before this panel's first month")
        return k if k < self.n_months else -1

    def present(self) -> NDArray[np.bool_]:
        """(firms, months): whether the firm has a record that month (any figure)."""
        arrays = list(self.values.values())
        seen = ~np.isnan(arrays[0])
        for a in arrays[1:]:
            seen |= ~np.isnan(a)
        return seen

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        id_column: str,
        month_column: str,
        columns: Sequence[str],
    ) -> PanelCube:
        """Pivot a long panel; a firm with no record in a month gets NaN there.

        Raises
        ------
        PanelError
            A column is missing, a month does not parse, or a firm has two records in a month.
        """
        missing = [c for c in (id_column, month_column, *columns) if c not in frame.columns]
        if missing:
            raise PanelError(f"panel has no column {missing[0]!r}")
        if frame.empty:
            raise PanelError("panel is empty")
        month_codes, month_values = pd.factorize(frame[month_column].astype(str))
        numbers = np.array([month_number(m) for m in month_values], np.int64)
        first = int(numbers.min())
        n_months = int(numbers.max()) - first + 1
        col = numbers[month_codes] - first
        firm_codes, firms = pd.factorize(frame[id_column].astype(str))
        if len(np.unique(firm_codes.astype(np.int64) * n_months + col)) != len(frame):
            raise PanelError("a firm has two records in one month; keep one per firm and month")
        values: dict[str, NDArray[np.float64]] = {}
        for name in columns:
            grid = np.full((len(firms), n_months), np.nan)
            grid[firm_codes, col] = pd.to_numeric(frame[name], errors="coerce").to_numpy(
                dtype=np.float64
            )
            values[name] = grid
        return cls(tuple(normalize(c) for c in firms), first, values)
