"""The bank's default records: each defaulted borrower's default month, from a dataset.

A dataset with the firm's id and ``default_month`` (``YYYY-MM`` or a date in it): the labels
of the early-warning training table (``monitor table``) and the outcomes flags are judged on
(``monitor review-flags``). A firm listed twice keeps its first default. A month that does not
read is refused by row, never by value (the month is the bank's C2 figure).
"""

from __future__ import annotations

from typing import Final

import pandas as pd

from node.monitoring.exceptions import PanelError
from node.monitoring.panel import month_key, month_number

COLUMN: Final = "default_month"


def default_months(frame: pd.DataFrame, id_column: str) -> dict[str, str]:
    """Firm id -> ``YYYY-MM`` of its (first) default.

    Raises
    ------
    PanelError
        The column is missing, or a row's month is not a month.
    """
    if COLUMN not in frame.columns:
        raise PanelError(
            f"the defaults dataset has no {COLUMN} column; give one dataset of (id, {COLUMN})"
        )
    months: dict[str, str] = {}
    for row, (firm, value) in enumerate(
        zip(frame[id_column].astype(str), frame[COLUMN].astype(str), strict=True)
    ):
        try:
            month = month_key(value)
        except PanelError:
            raise PanelError(
                f"row {row + 1} of the defaults dataset: {COLUMN} is not a month; "
                "write YYYY-MM or YYYY-MM-DD"
            ) from None
        if firm not in months or month_number(month) < month_number(months[firm]):
            months[firm] = month
    return months
