"""Each holder flag's track record at the bank: how often it was raised, how often a default
followed.

A flag's cohort is the borrower-months it was raised on a borrower not yet in default, counted
only where the bank's default records cover the ``horizon`` months that follow (a later month's
outcome is not known yet: counting it would call a borrower that defaults after the records
end a good one). Its default rate is the share of that cohort that defaulted within the
horizon. The bank's watch-list store keeps the flags each refresh received
(``MonitoringStore.flag_history``) and its defaults dataset the default months; the benchmark
feeds the same function its walk's flags, so both judge flags the same way.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

Firm = TypeVar("Firm", bound=Hashable)


@dataclass(frozen=True)
class FlagRecord:
    """One flag's cohort: borrower-months raised (outcome known) and the defaults among them."""

    code: str
    raised: int
    defaulted: int

    @property
    def default_rate(self) -> float:
        return self.defaulted / self.raised if self.raised else 0.0


def flag_record(
    raised: Iterable[tuple[Firm, int, str]],
    default_month: Mapping[Firm, int],
    horizon: int,
    through: int,
) -> dict[str, FlagRecord]:
    """The record of every flag in ``raised``, by code (sorted).

    ``raised`` holds (borrower, month number, code) once per flag a refresh received;
    ``default_month`` the month number of each defaulted borrower's default (the others are
    absent); ``through`` the last month the default records cover. A raising counts where
    the borrower was not in default by its month and ``month + horizon <= through``.
    """
    counts: dict[str, list[int]] = {}
    for firm, month, code in raised:
        if month + horizon > through:
            continue
        default = default_month.get(firm, -1)
        if 0 <= default <= month:  # already in default: nothing left to warn of
            continue
        tally = counts.setdefault(code, [0, 0])
        tally[0] += 1
        tally[1] += int(month < default <= month + horizon)
    return {code: FlagRecord(code, n, hit) for code, (n, hit) in sorted(counts.items())}
